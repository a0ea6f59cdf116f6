package zuorasim

// invoiceReadRoutes are the V1 invoice reads the consumer makes for Zuora's own events (the invoice object and
// its items).
func (s *Sim) invoiceReadRoutes() []route {
	return nil
}
