// Package deps pins the project's third-party modules while the packages that use them are being written.
// Delete it once every module below is imported by real code.
package deps

import (
	_ "github.com/cloudevents/sdk-go/v2/event"
	_ "github.com/getkin/kin-openapi/openapi3"
	_ "github.com/getkin/kin-openapi/openapi3filter"
	_ "github.com/getkin/kin-openapi/routers/gorillamux"
	_ "github.com/google/uuid"
	_ "github.com/nats-io/nats-server/v2/server"
	_ "github.com/nats-io/nats.go"
	_ "github.com/nats-io/nats.go/jetstream"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/sony/gobreaker/v2"
	_ "golang.org/x/oauth2/clientcredentials"
	_ "golang.org/x/time/rate"
)
