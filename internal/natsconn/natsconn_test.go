package natsconn

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

func TestFromEnvReadsEveryVariable(t *testing.T) {
	for k, v := range map[string]string{"NATS_USER": "u", "NATS_PASSWORD": "p", "NATS_CREDS": "c", "NATS_CA": "ca",
		"NATS_CERT": "cert", "NATS_KEY": "key", "NATS_INBOX_PREFIX": "_IN"} {
		t.Setenv(k, v)
	}
	want := Auth{User: "u", Password: "p", Creds: "c", CA: "ca", Cert: "cert", Key: "key", InboxPrefix: "_IN"}
	if got := FromEnv(); got != want {
		t.Fatalf("%+v", got)
	}
}

func TestValidateRefusesWhatCannotWork(t *testing.T) {
	f := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		a    Auth
		want string
	}{
		{Auth{Creds: f, User: "u"}, "not both"},
		{Auth{Password: "secret"}, "without NATS_USER"},
		{Auth{Cert: f}, "go together"},
		{Auth{InboxPrefix: "_INBOX.>"}, "NATS_INBOX_PREFIX"},
		{Auth{CA: "/nonexistent/ca.pem"}, "NATS_CA"},
	} {
		err := tc.a.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "secret") {
			t.Errorf("%+v: %v, want %q", tc.a, err, tc.want)
		}
	}
	if err := (Auth{User: "u", Password: "p", CA: f, Cert: f, Key: f}).Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestRedactDropsCredentials(t *testing.T) {
	got := redact("nats://u:secret@h1:4222,tls://h2:4222")
	if strings.Contains(got, "secret") || !strings.Contains(got, "h1:4222") || !strings.Contains(got, "tls://h2:4222") {
		t.Fatal(got)
	}
}

// A user with a password, over TLS with a client certificate the server verifies, replies on its inbox prefix.
func TestConnectsWithPasswordTLSAndInboxPrefix(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key := writeCerts(t, dir)
	opts := server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true}
	opts.Users = []*server.User{{Username: "zuorasync-consumer", Password: "pw"}}
	tc := server.TLSConfigOpts{CertFile: cert, KeyFile: key, CaFile: ca, Verify: true}
	var err error
	if opts.TLSConfig, err = server.GenTLSConfig(&tc); err != nil {
		t.Fatal(err)
	}
	opts.TLS, opts.TLSVerify = true, true
	ns, err := server.NewServer(&opts)
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	defer ns.Shutdown()
	if !ns.ReadyForConnections(5 * time.Second) {
		t.Fatal("server not ready")
	}
	url := "tls://" + ns.Addr().String()

	a := Auth{User: "zuorasync-consumer", Password: "pw", CA: ca, Cert: cert, Key: key}
	nc, err := a.Connect(url, "test", InboxConsumer)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if inbox := nc.NewInbox(); !strings.HasPrefix(inbox, InboxConsumer+".") {
		t.Fatalf("inbox %s", inbox)
	}
	if _, err := (Auth{User: "zuorasync-consumer", Password: "pw", CA: ca}).Connect(url, "no client cert", ""); err == nil {
		t.Fatal("connected without the client certificate the server verifies")
	}
	if _, err := (Auth{User: "zuorasync-consumer", Password: "wrong", CA: ca, Cert: cert, Key: key}).Connect(url, "bad", ""); err == nil {
		t.Fatal("connected with a wrong password")
	}
}

// writeCerts writes a CA and a certificate it signs for 127.0.0.1, used by both server and client.
func writeCerts(t *testing.T, dir string) (ca, cert, key string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "zuorasync"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	caCert, _ := x509.ParseCertificate(caDER)
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(leafKey)
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("cert.pem", "CERTIFICATE", leafDER), write("key.pem", "EC PRIVATE KEY", keyDER)
}
