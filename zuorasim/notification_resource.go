package zuorasim

import (
	"net/http"
	"net/url"
	"slices"
)

// notifResource describes one collection of the notification set-up (custom object definitions, event triggers,
// callout templates, notification definitions) for the endpoint skeletons they share: get, create, update,
// delete and the paged list. R is the stored row, V the row as answers show it. Each resource's file keeps what is
// its own: validation, fields, filters and what a delete does besides.
type notifResource[R, V any] struct {
	noun  string             // the row's name in a 404 ("callout template")
	param string             // the path value naming a row ("id", "object")
	rows  func(*store) *[]*R // the collection in the store, creation order
	key   func(*R) string    // what the path value names
	view  func(*R) V         // a row as answers and state show it (a copy)
	// paging of the list: start counts from startBase (pageParams); limit defaults to defLimit, at most
	// maxLimit (0: unbounded).
	startBase, defLimit, maxLimit int
}

// find returns the row named key, nil when there is none. Caller holds st.mu.
func (res notifResource[R, V]) find(st *store, key string) *R {
	for _, row := range *res.rows(st) {
		if res.key(row) == key {
			return row
		}
	}
	return nil
}

// lookup is the row the request's path names, or the 404.
func (res notifResource[R, V]) lookup(r *http.Request, st *store) (*R, *apiError) {
	key := r.PathValue(res.param)
	row := res.find(st, key)
	if row == nil {
		return nil, errNotFound(res.noun, key)
	}
	return row, nil
}

// get is the endpoint GET …/{param}.
func (res notifResource[R, V]) get(r *http.Request, st *store) (reply, *apiError) {
	row, e := res.lookup(r, st)
	if e != nil {
		return reply{}, e
	}
	return replyOK(res.view(row)), nil
}

// remove deletes the row the request's path names and returns it (or the 404).
func (res notifResource[R, V]) remove(r *http.Request, st *store) (*R, *apiError) {
	key := r.PathValue(res.param)
	rows := res.rows(st)
	i := slices.IndexFunc(*rows, func(row *R) bool { return res.key(row) == key })
	if i < 0 {
		return nil, errNotFound(res.noun, key)
	}
	row := (*rows)[i]
	*rows = slices.Delete(*rows, i, i+1)
	return row, nil
}

// delete is the endpoint DELETE …/{param} that answers 204.
func (res notifResource[R, V]) delete(r *http.Request, st *store) (reply, *apiError) {
	if _, e := res.remove(r, st); e != nil {
		return reply{}, e
	}
	return reply{status: http.StatusNoContent}, nil
}

// list is the endpoint GET of the collection: one page (start/limit) of the rows that filter's test keeps, in
// creation order. filter reads the query once (and may refuse a value) after the paging parameters are read.
func (res notifResource[R, V]) list(r *http.Request, st *store, filter func(q url.Values) (keep func(*R) bool, e *apiError)) (reply, *apiError) {
	offset, limit, e := pageParams(r, res.startBase, res.defLimit, res.maxLimit)
	if e != nil {
		return reply{}, e
	}
	keep, e := filter(r.URL.Query())
	if e != nil {
		return reply{}, e
	}
	var rows []V
	for _, row := range *res.rows(st) {
		if keep(row) {
			rows = append(rows, res.view(row))
		}
	}
	data, next := pageOf(r, rows, offset, limit, res.startBase)
	return replyOK(notifPage[V]{Data: data, Next: next}), nil
}

// state is every row as /_sim/state shows it.
func (res notifResource[R, V]) state(st *store) []V {
	rows := *res.rows(st)
	out := make([]V, 0, len(rows))
	for _, row := range rows {
		out = append(out, res.view(row))
	}
	return out
}

// createRow is the endpoint POST of the collection: it decodes the body, lets build validate it into a new row,
// appends the row and answers it.
func createRow[R, V, In any](res notifResource[R, V], r *http.Request, st *store, build func(*In) (*R, *apiError)) (reply, *apiError) {
	var in In
	if e := decodeNotifBody(r, &in); e != nil {
		return reply{}, e
	}
	row, e := build(&in)
	if e != nil {
		return reply{}, e
	}
	rows := res.rows(st)
	*rows = append(*rows, row)
	return replyOK(res.view(row)), nil
}

// updateRow is the endpoint PUT …/{param}: it finds the row, decodes the body and lets change validate it and
// apply it onto a copy of the row, which replaces the row only when change accepts it.
func updateRow[R, V, In any](res notifResource[R, V], r *http.Request, st *store, change func(next *R, in *In) *apiError) (reply, *apiError) {
	row, e := res.lookup(r, st)
	if e != nil {
		return reply{}, e
	}
	var in In
	if e := decodeNotifBody(r, &in); e != nil {
		return reply{}, e
	}
	next := *row
	if e := change(&next, &in); e != nil {
		return reply{}, e
	}
	*row = next
	return replyOK(res.view(row)), nil
}
