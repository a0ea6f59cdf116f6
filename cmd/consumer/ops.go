package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/consumer"
	"github.com/zuora-sync/zuora-sync/handlers"
	"github.com/zuora-sync/zuora-sync/internal/app"
	"github.com/zuora-sync/zuora-sync/internal/envvar"
	"github.com/zuora-sync/zuora-sync/internal/jsbound"
	"github.com/zuora-sync/zuora-sync/internal/natsconn"
	"github.com/zuora-sync/zuora-sync/topology"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
)

// connect opens the operator connection: NATS_URL, or the local default where `make run` listens, with the
// consumer's credentials (NATS_USER/NATS_PASSWORD or NATS_CREDS, TLS): the subcommands act on its streams.
func connect() (*nats.Conn, jetstream.JetStream, error) {
	nc, err := natsconn.FromEnv().Connect(envvar.Or("NATS_URL", nats.DefaultURL), "zuora-sync operator", natsconn.InboxConsumer)
	if err != nil {
		return nil, nil, fmt.Errorf("%w (set NATS_URL)", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	// Bounded like the consumer's: a request to a node that died is never answered.
	return nc, jsbound.New(js, jsbound.DefaultTimeout), nil
}

func runReplay(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	stream := fs.String("stream", topology.StreamStigg, "input stream to replay: STIGG or ZUORA")
	seq := fs.Uint64("seq", 0, "replay from this stream sequence")
	since := fs.Duration("since", 0, "replay events stored within this long ago (e.g. 2h)")
	from := fs.String("from", "", "replay events stored at or after this time (RFC 3339)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var rf consumer.ReplayFrom
	set := 0
	if *seq > 0 {
		rf.Seq, set = *seq, set+1
	}
	if *since > 0 {
		rf.Time, set = time.Now().Add(-*since), set+1
	}
	if *from != "" {
		t, err := time.Parse(time.RFC3339, *from)
		if err != nil {
			return fmt.Errorf("replay: -from: %w", err)
		}
		rf.Time, set = t, set+1
	}
	if set != 1 {
		return errors.New("replay: give exactly one of -seq, -since, -from")
	}
	if *stream != topology.StreamStigg && *stream != topology.StreamZuora {
		return fmt.Errorf("replay: -stream must be %s or %s", topology.StreamStigg, topology.StreamZuora)
	}
	nc, js, err := connect()
	if err != nil {
		return err
	}
	defer nc.Close()
	start, reset, err := consumer.Replay(ctx, js, *stream, rf)
	if err != nil {
		return err
	}
	if len(reset) == 0 {
		fmt.Fprintf(out, "no zuora-sync consumers on %s yet: a consumer that starts will read from the beginning\n", *stream)
		return nil
	}
	fmt.Fprintf(out, "replaying %s from sequence %d: %d consumers reset. Handlers are idempotent, so events "+
		"already applied in Zuora change nothing.\n", *stream, start, len(reset))
	return nil
}

func runDLQ(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New("dlq: use `dlq list` or `dlq redrive`")
	}
	switch args[0] {
	case "list":
		fs := flag.NewFlagSet("dlq list", flag.ContinueOnError)
		filter := fs.String("filter", "", "subject filter, e.g. zuorasync.dlq.stigg.customer.>")
		limit := fs.Int("limit", 100, "at most this many entries (0 = all)")
		asJSON := fs.Bool("json", false, "one JSON object per line")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		nc, js, err := connect()
		if err != nil {
			return err
		}
		defer nc.Close()
		entries, err := consumer.ListDLQ(ctx, js, *filter, *limit)
		if err != nil {
			return err
		}
		if *asJSON {
			enc := json.NewEncoder(out)
			for _, e := range entries {
				if err := enc.Encode(e); err != nil {
					return err
				}
			}
			return nil
		}
		if len(entries) == 0 {
			fmt.Fprintln(out, "the DLQ is empty")
			return nil
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SEQ\tAT\tCLASS\tATTEMPTS\tSUBJECT\tEVENT\tREASON")
		for _, e := range entries {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\t%s\n", e.Seq, e.At.Format(time.RFC3339), e.Class, e.Attempts,
				e.OriginalSubject, e.EventID, e.Reason)
		}
		return tw.Flush()
	case "redrive":
		fs := flag.NewFlagSet("dlq redrive", flag.ContinueOnError)
		filter := fs.String("filter", "", "subject filter, e.g. zuorasync.dlq.stigg.customer.>")
		seqList := fs.String("seq", "", "comma-separated DLQ sequences (default: every entry matching -filter)")
		force := fs.Bool("force", false, "also redrive entries whose entity applied a newer event since (applies the older event)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		var seqs []uint64
		for _, s := range strings.Split(*seqList, ",") {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			n, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				return fmt.Errorf("dlq redrive: -seq: %q is not a sequence number", s)
			}
			seqs = append(seqs, n)
		}
		nc, js, err := connect()
		if err != nil {
			return err
		}
		defer nc.Close()
		res, err := consumer.Redrive(ctx, js, consumer.RedriveOptions{Filter: *filter, Seqs: seqs, Force: *force})
		fmt.Fprintf(out, "redrove %d dead letters onto their original subjects\n", res.Redriven)
		for _, dl := range res.Superseded {
			fmt.Fprintf(out, "kept DLQ entry %d (event %s): a newer event of its entity was applied since; "+
				"redrive it with -force -seq %d to apply it anyway\n", dl.Seq, dl.EventID, dl.Seq)
		}
		return err
	}
	return fmt.Errorf("dlq: unknown subcommand %q", args[0])
}

func runProvision(ctx context.Context, out io.Writer) error {
	nc, js, err := connect()
	if err != nil {
		return err
	}
	defer nc.Close()
	topo, err := topology.FromEnv()
	if err != nil {
		return err
	}
	if err := topology.EnsureStreams(ctx, js, topo); err != nil {
		return err
	}
	if _, err := topology.EnsureBuckets(ctx, js, topo); err != nil {
		return err
	}
	fmt.Fprintf(out, "provisioned streams %s, %s, %s, %s and bucket %s (%d partitions)\n",
		topology.StreamStigg, topology.StreamZuora, topology.StreamOutcomes, topology.StreamDLQ, topology.BucketIDs, topo.Partitions)
	if os.Getenv("BRIDGE_PUBLIC_URL") == "" {
		fmt.Fprintln(out, "Zuora's callouts not provisioned: BRIDGE_PUBLIC_URL is not set")
		return nil
	}
	a, err := app.New(ctx, app.FromEnv())
	if err != nil {
		return err
	}
	defer a.Close()
	rep, err := a.Provisioner.Reconcile(zuoraapi.WithEventID(ctx, "provision/"+time.Now().UTC().Format(time.RFC3339Nano)))
	if err != nil {
		return fmt.Errorf("provision Zuora's callouts: %w", err)
	}
	fmt.Fprintf(out, "provisioned Zuora's callouts to %s%s: %s\n", strings.TrimRight(os.Getenv("BRIDGE_PUBLIC_URL"), "/"),
		handlers.CalloutPath, rep)
	return nil
}
