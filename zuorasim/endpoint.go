package zuorasim

import (
	"net/http"
)

// reply is what an endpoint answers: a status and a body encoded as JSON (none for 204). after, when set, runs
// once the store is unlocked and the answer written (work that takes the lock itself, such as delivering
// notifications).
type reply struct {
	status int
	body   any
	header http.Header // extra response headers
	after  func()
}

func replyOK(body any) reply      { return reply{status: http.StatusOK, body: body} }
func replyCreated(body any) reply { return reply{status: http.StatusCreated, body: body} }

// rawBody is an answer that is not JSON (the describe API's XML).
type rawBody struct {
	contentType string
	data        []byte
}

func isRaw(body any) bool { _, ok := body.(rawBody); return ok }

// replyWith answers with any status and JSON body: the few places where Zuora answers outside its envelopes
// (CRUD's "no data" 404, a 400 with a bare message).
func replyWith(status int, body any) reply { return reply{status: status, body: body} }

// crudNoData is the CRUD API's answer for a record that does not exist: 404 with an empty query result.
func crudNoData() reply {
	return replyWith(http.StatusNotFound, map[string]any{"done": true, "records": []any{}, "size": 0})
}

// endpoint is the one shape of every Zuora endpoint of the simulator: it reads the request and the store and
// returns the answer, or the API error Zuora would give. It never writes the response: the adapter does, in the
// error envelope of the request's surface, so no endpoint can forget a header, an envelope or an early return.
type endpoint func(r *http.Request, st *store) (reply, *apiError)

// access is how an endpoint holds the store: reads share it, writes hold it alone.
type access int

const (
	read access = iota
	write
	// unlocked is for endpoints that call the simulator's own locking methods (the admin surface).
	unlocked
)

// serve adapts an endpoint to net/http: it takes the store lock the endpoint's access asks for, runs it, releases
// the lock and writes the answer. A panic inside an endpoint releases the lock too (net/http then drops the
// connection), so one bad request cannot wedge the simulator.
func (s *Sim) serve(a access, ep endpoint) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rep, e := s.locked(a, func(st *store) (reply, *apiError) { return ep(r, st) })
		for k, v := range rep.header {
			w.Header()[k] = v
		}
		switch {
		case e != nil:
			s.fail(w, r, e)
		case rep.body == nil:
			w.WriteHeader(cmpStatus(rep.status))
		case isRaw(rep.body):
			raw := rep.body.(rawBody)
			w.Header().Set("Content-Type", raw.contentType)
			w.WriteHeader(cmpStatus(rep.status))
			_, _ = w.Write(raw.data)
		default:
			writeJSON(w, cmpStatus(rep.status), rep.body)
		}
		if rep.after != nil && e == nil {
			rep.after()
		}
	}
}

func (s *Sim) locked(a access, fn func(*store) (reply, *apiError)) (reply, *apiError) {
	st := s.store
	switch a {
	case read:
		st.mu.RLock()
		defer st.mu.RUnlock()
	case write:
		st.mu.Lock()
		defer st.mu.Unlock()
	}
	return fn(st)
}

func cmpStatus(status int) int {
	if status == 0 {
		return http.StatusOK
	}
	return status
}
