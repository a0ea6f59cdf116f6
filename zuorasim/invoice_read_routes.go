package zuorasim

// invoiceReadRoutes are the V1 invoice reads the consumer makes for Zuora's own events (the invoice object and
// its items), in invoice_reads.go. Like the other invoice reads, each first does what the clock has made due (it
// may post an invoice), so both hold the store for writing.
func (s *Sim) invoiceReadRoutes() []route {
	return []route{
		{pattern: "GET /v1/object/invoice/{id}", access: write, ep: s.crudGetInvoice},
		{pattern: "GET /v1/invoices/{invoice_key}/items", access: write, ep: s.v1InvoiceItems},
	}
}
