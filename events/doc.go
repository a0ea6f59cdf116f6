// Package events is the wire format of zuora-sync: CloudEvents 1.0 carried over NATS
// JetStream, the event types, their typed payloads, and the subjects they travel on.
//
// # Messages
//
// Binary mode is what the project publishes (ToMsg): each context attribute is a header
// named "ce-<attribute>" in lower case (ce-id, ce-source, ce-type, ce-specversion,
// ce-subject, ce-time, ce-partitionkey, ce-traceparent, any other extension), its value
// percent-encoded as the CloudEvents NATS binding prescribes (space, '"', '%' and every byte
// outside printable ASCII become %XX); datacontenttype travels as "content-type" (and as
// ce-datacontenttype, the binding's own name); the JSON data is the body; Nats-Msg-Id is the
// event id, so JetStream's duplicate window drops a re-published event.
//
// Structured mode (ToStructuredMsg) is accepted too: "content-type: application/cloudevents+json"
// and the JSON event format in the body. FromMsg decides by content-type, matches header
// names case-insensitively, and turns any malformed input into a *ValidationError naming the
// attribute; it never panics.
//
// Every event carries id, source, type, specversion 1.0, time (RFC 3339, UTC), subject (the
// Stigg entity id) and the extension partitionkey (the ordering key); traceparent and
// tracestate are propagated when present. Extension values are strings.
//
// # Subjects and ordering keys
//
// Events are published on <prefix>.<entity>.<action>.<key>: prefix "stigg" for io.stigg.*,
// "zuora" for io.zuora.*, "zuorasync.out" for outcomes (io.zuorasync.*). The key token is the
// ordering key with '.', '*', '>', '%', white space, control bytes and every byte >= 0x7F
// percent-encoded (%2E, upper-case hex), so ordinary ids stay readable and each key has exactly
// one token. The STIGG and ZUORA streams append a partition number, so stored subjects read
// stigg.customer.created.<key>.<p>; ParseSubject reads both forms.
//
// The ordering key is the customer id (for catalog events the package id, for integration
// events the integration id). It is taken from the partitionkey extension; events without it
// fall back to the corresponding field of their data (see PartitionKey).
//
// # Payloads
//
// DecodeData maps an event's type to its payload struct (Customer, PackagePublished, …,
// ZuoraInvoice, …, Outcome), decodes the JSON data and validates it; errors name the field by
// its JSON path, e.g. prices[1].tiers[0].upTo. Money and quantities that can be fractional are
// Decimal, an exact string-backed decimal.
package events
