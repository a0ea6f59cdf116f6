package zuorasim

// notificationRoutes are the endpoints of Zuora's notification set-up (custom object definitions, custom event
// triggers, callout templates, notification definitions, callout history and resend). Callout delivery itself is
// no endpoint: state changes fire it (callout_changes.go, callout_delivery.go).
func (s *Sim) notificationRoutes() []route {
	return []route{
		// custom_objects.go
		{pattern: "GET /objects/definitions/default", access: read, ep: s.listCustomObjects},
		{pattern: "POST /objects/definitions/default", access: write, ep: s.createCustomObjects},
		{pattern: "GET /objects/definitions/default/{object}", access: read, ep: customObjects.get},
		{pattern: "DELETE /objects/definitions/default/{object}", access: write, ep: s.deleteCustomObject},
		// notification_triggers.go
		{pattern: "POST /events/event-triggers", access: write, ep: s.createEventTrigger},
		{pattern: "GET /events/event-triggers", access: read, ep: s.listEventTriggers},
		{pattern: "GET /events/event-triggers/{id}", access: read, ep: eventTriggers.get},
		{pattern: "PUT /events/event-triggers/{id}", access: write, ep: s.updateEventTrigger},
		{pattern: "DELETE /events/event-triggers/{id}", access: write, ep: eventTriggers.delete},
		// notification_templates.go
		{pattern: "POST /notifications/callout-templates", access: write, ep: s.createCalloutTemplate},
		{pattern: "GET /notifications/callout-templates", access: read, ep: s.listCalloutTemplates},
		{pattern: "GET /notifications/callout-templates/{id}", access: read, ep: calloutTemplates.get},
		{pattern: "PUT /notifications/callout-templates/{id}", access: write, ep: s.updateCalloutTemplate},
		{pattern: "DELETE /notifications/callout-templates/{id}", access: write, ep: s.deleteCalloutTemplate},
		// notification_definitions.go
		{pattern: "POST /notifications/notification-definitions", access: write, ep: s.createNotificationDefinition},
		{pattern: "GET /notifications/notification-definitions", access: read, ep: s.listNotificationDefinitions},
		{pattern: "GET /notifications/notification-definitions/{id}", access: read, ep: notificationDefinitions.get},
		{pattern: "PUT /notifications/notification-definitions/{id}", access: write, ep: s.updateNotificationDefinition},
		{pattern: "DELETE /notifications/notification-definitions/{id}", access: write, ep: notificationDefinitions.delete},
		// callout_history.go
		{pattern: "GET /v1/notification-history/callout", access: read, ep: s.listCalloutHistory},
		{pattern: "POST /notifications/callout-histories/resend", access: write, ep: s.resendCallouts},
	}
}
