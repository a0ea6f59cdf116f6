package zuorasim

// notificationRoutes are the endpoints of Zuora's notification set-up (custom object definitions, custom event
// triggers, callout templates, notification definitions, callout history and resend).
func (s *Sim) notificationRoutes() []route {
	return nil
}
