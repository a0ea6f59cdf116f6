package console

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/zuora-sync/zuora-sync/consumer"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/handlers"
	"github.com/zuora-sync/zuora-sync/idmap"
	"github.com/zuora-sync/zuora-sync/topology"
)

// entityKinds are the id-map kinds a Stigg id is looked up under.
var entityKinds = []string{handlers.KindCustomer, handlers.KindSubscription, handlers.KindPackage, handlers.KindPackageProgress}

type idmapRow struct {
	Kind, Key, ZuoraID, ZuoraNumber, SourceEvent string
	Updated                                      time.Time
	Extra                                        []headerRow
}

type eventRow struct {
	At                         time.Time
	Stream                     string
	Seq                        uint64
	Type, ID, Subject, Outcome string
}

type entityData struct {
	ID          string
	IDMap       []idmapRow
	IDMapErr    string
	Events      []eventRow
	EventsErr   string
	OlderEvents bool
	PerStream   int
	DLQ         []dlqRow
	DLQErr      string
	DLQBounded  bool
	Examined    int
}

// eventsPerStream bounds the events shown per stream (the newest).
const eventsPerStream = 25

func (c *Console) entity(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimSpace(r.FormValue("id"))
	d := entityData{ID: id, PerStream: eventsPerStream}
	if id == "" || len(id) > events.MaxIDLength {
		c.render(w, r, http.StatusOK, "entity", "Entity", d)
		return
	}
	ctx, cancel := reqCtx(r)
	defer cancel()
	if c.cfg.IDs != nil {
		for _, kind := range entityKinds {
			e, err := c.cfg.IDs.Get(ctx, kind, id)
			if errors.Is(err, idmap.ErrNotFound) {
				continue
			}
			if err != nil {
				d.IDMapErr = err.Error()
				continue
			}
			row := idmapRow{Kind: kind, Key: idmap.Key(kind, id), ZuoraID: e.ZuoraID, ZuoraNumber: e.ZuoraNumber,
				SourceEvent: e.SourceEventID, Updated: e.UpdatedAt}
			for k, v := range e.Extra {
				if secretHeader(k) {
					v = masked
				}
				row.Extra = append(row.Extra, headerRow{k, v})
			}
			slices.SortFunc(row.Extra, func(a, b headerRow) int { return compareStrings(a.Name, b.Name) })
			d.IDMap = append(d.IDMap, row)
		}
	}
	d.Events, d.OlderEvents, d.EventsErr = c.entityEvents(ctx, id)
	d.DLQ, d.DLQBounded, d.Examined, d.DLQErr = c.entityDLQ(ctx, id)
	c.render(w, r, http.StatusOK, "entity", "Entity", d)
}

// entityEvents reads the newest events of the id's ordering key from the input streams and its outcomes, by
// subject filter on the key token (never a scan of the stream), merged in time order.
func (c *Console) entityEvents(ctx context.Context, id string) ([]eventRow, bool, string) {
	tok := events.KeyToken(id)
	reads := []struct{ stream, filter string }{
		{topology.StreamStigg, "stigg.*.*." + tok + ".*"},
		{topology.StreamZuora, "zuora.*.*." + tok + ".*"},
		{topology.StreamOutcomes, events.PrefixOutcome + ".*.*." + tok},
	}
	var rows []eventRow
	older := false
	var errs []string
	for _, rd := range reads {
		msgs, more, err := lastFiltered(ctx, c.cfg.JS, rd.stream, rd.filter, eventsPerStream)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		older = older || more
		for _, m := range msgs {
			rows = append(rows, eventRowOf(m))
		}
	}
	slices.SortStableFunc(rows, func(a, b eventRow) int { return a.At.Compare(b.At) })
	return rows, older, strings.Join(errs, "; ")
}

func eventRowOf(m rawMsg) eventRow {
	row := eventRow{At: m.Time, Stream: m.Stream, Seq: m.Seq, Subject: m.Subject}
	ev, err := events.FromMsg(m.Header, m.Data)
	if err != nil {
		row.Type = "(undecodable)"
		return row
	}
	row.Type, row.ID, row.Subject = ev.Type(), ev.ID(), ev.Subject()
	if m.Stream == topology.StreamOutcomes {
		var o events.Outcome
		if ev.DataAs(&o) == nil {
			parts := []string{}
			for _, s := range []string{o.Action, o.Code, o.Reason} {
				if s != "" {
					parts = append(parts, s)
				}
			}
			var zuora []string
			for k, v := range o.Zuora {
				zuora = append(zuora, k+"="+v)
			}
			slices.Sort(zuora)
			if len(zuora) > 0 {
				parts = append(parts, "zuora: "+strings.Join(zuora, ", "))
			}
			if o.SourceEventID != "" {
				parts = append(parts, "for event "+o.SourceEventID)
			}
			row.Outcome = strings.Join(parts, " · ")
		}
	}
	return row
}

// entityDLQ finds the dead letters that concern id: every entry whose input subject carries its key token (a
// subject-filtered read, at any depth), plus a bounded read of the newest entries matched by CloudEvent subject
// and customerId (a subscription's entries are keyed by its customer).
func (c *Console) entityDLQ(ctx context.Context, id string) ([]dlqRow, bool, int, string) {
	tok := events.KeyToken(id)
	seen := map[uint64]bool{}
	var rows []dlqRow
	limit := c.cfg.PageSize
	for _, prefix := range []string{"stigg", "zuora"} {
		page, err := consumer.PageDLQ(ctx, c.cfg.JS, consumer.DLQFilter{
			Subject: topology.PrefixDLQ + "." + prefix + ".*.*." + tok}, 0, limit)
		if err != nil {
			return rows, false, 0, err.Error()
		}
		for _, dl := range page.Entries {
			seen[dl.Seq] = true
			rows = append(rows, rowOf(dl))
		}
	}
	s, err := c.cfg.JS.Stream(ctx, topology.StreamDLQ)
	if err != nil {
		return rows, false, 0, err.Error()
	}
	last := s.CachedInfo().State.LastSeq
	after := uint64(0)
	if last > uint64(c.cfg.MaxExamined) {
		after = last - uint64(c.cfg.MaxExamined)
	}
	page, err := consumer.PageDLQ(ctx, c.cfg.JS, consumer.DLQFilter{MaxExamined: c.cfg.MaxExamined,
		Match: func(dl consumer.DeadLetter) bool { return !seen[dl.Seq] && concerns(dl, id) }}, after, limit)
	if err != nil {
		return rows, false, 0, err.Error()
	}
	for _, dl := range page.Entries {
		rows = append(rows, rowOf(dl))
	}
	slices.SortFunc(rows, func(a, b dlqRow) int { return compareUint(a.Seq, b.Seq) })
	return rows, after > 0, page.Examined, ""
}

func compareUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
