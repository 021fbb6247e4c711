package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampart-platform/rampart/internal/app"
	"github.com/rampart-platform/rampart/internal/config"
	"github.com/rampart-platform/rampart/internal/httpapi"
	"github.com/rampart-platform/rampart/internal/kyc"
	"github.com/rampart-platform/rampart/internal/oidc"
	"github.com/rampart-platform/rampart/internal/perimeter"
)

// newKYCServiceCmd is `rampart kyc-service`: identity verification as an
// internal service behind the API gateway (FEATURES K4). It listens only
// on loopback or a Unix socket and serves POST /verifications to callers
// that present the gateway's signed identity assertion with the scope
// kyc.verify; the gateway route is, for example,
//
//	gateway.routes: ["/gw/kyc/ unix:/run/rampart/kyc.sock scope=kyc.verify rate=5"]
func newKYCServiceCmd(e env) *cobra.Command {
	var listen, keys, keysCA, audience, issuer string
	cmd := &cobra.Command{
		Use:   "kyc-service",
		Short: "Serve identity verification to the API gateway, on loopback or a Unix socket only",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Refuse a public address before anything is opened.
			network, addr, err := "unix", "", error(nil)
			if listen != "" {
				if network, addr, err = kycListenAddr(listen); err != nil {
					return err
				}
			}
			return dataRunE(e, app.MustExist, func(cmd *cobra.Command, d *app.Data) error {
				if addr == "" {
					addr = filepath.Join(d.Config.DataDir, "kyc.sock")
				}
				return runKYCService(cmd.Context(), d, network, addr, kycServiceOptions{keys: keys, keysCA: keysCA, audience: audience, issuer: issuer}, e)
			})(cmd, nil)
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "", "where to listen: unix:/PATH or a loopback host:port (127.0.0.1:9100, [::1]:9100, localhost:9100); default unix:<data_dir>/kyc.sock")
	f.StringVar(&keys, "gateway-keys", "", "the gateway's public keys: a JWKS file, or an https URL (default: <public_url>"+oidc.PathGatewayKeys+")")
	f.StringVar(&keysCA, "gateway-ca", "", "PEM CA certificates trusted for an https --gateway-keys (a private CA or the development certificate)")
	f.StringVar(&audience, "audience", "/gw/kyc/", "the gateway route prefix this service is mounted at (the assertion's audience)")
	f.StringVar(&issuer, "issuer", "", "the assertion issuer (default: <public_url>/)")
	config.RegisterFlags(f, config.GroupData)
	return cmd
}

type kycServiceOptions struct{ keys, keysCA, audience, issuer string }

// kycListenAddr accepts unix:/ABSOLUTE/PATH or a loopback host:port.
func kycListenAddr(s string) (network, addr string, err error) {
	if path, ok := strings.CutPrefix(s, "unix:"); ok {
		if !filepath.IsAbs(path) {
			return "", "", &hinted{err: fmt.Errorf("kyc-service: --listen %q: a Unix socket path must be absolute", s)}
		}
		return "unix", path, nil
	}
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		return "", "", &hinted{err: fmt.Errorf("kyc-service: --listen %q is neither unix:/PATH nor host:port", s)}
	}
	if strings.EqualFold(host, "localhost") {
		return "tcp", s, nil
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsLoopback() {
		return "tcp", s, nil
	}
	return "", "", &hinted{
		err:   fmt.Errorf("kyc-service: refusing to listen on %q: the verification service listens only on loopback or a Unix socket", s),
		hints: []string{"it is reachable only through the API gateway (gateway.routes \"/gw/kyc/ unix:/PATH scope=kyc.verify\"); use --listen unix:/run/rampart/kyc.sock or 127.0.0.1:PORT"},
	}
}

func runKYCService(ctx context.Context, d *app.Data, network, addr string, o kycServiceOptions, e env) error {
	svc, stop, err := app.OpenKYC(ctx, d)
	if err != nil {
		return err
	}
	defer stop()
	if svc == nil {
		return &hinted{err: errors.New("kyc-service: identity verification is off (kyc.matcher)"),
			hints: []string{"set kyc.matcher to embedded (with kyc.faceservice_dir) or remote (with kyc.remote_endpoint and kyc.remote_key)"}}
	}
	verifier, err := kycAssertionVerifier(d.Config, o)
	if err != nil {
		return err
	}
	if network == "unix" {
		_ = os.Remove(addr) // a stale socket of an earlier run
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		return fmt.Errorf("kyc-service: %w", err)
	}
	if network == "unix" {
		// Only this user (the gateway runs as it) may connect.
		if err := os.Chmod(addr, 0o600); err != nil {
			_ = ln.Close()
			return err
		}
		defer func() { _ = os.Remove(addr) }()
	}
	srv := &http.Server{Handler: kycServiceHandler(svc, d.Log, verifier), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(d.Log.Handler(), slog.LevelWarn)}
	fmt.Fprintf(e.stdout, "kyc-service listening on %s:%s (audience %s)\n", network, addr, o.audience)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	}
	shutdown, cancel := context.WithTimeout(context.Background(), d.Config.Server.ShutdownTimeout)
	defer cancel()
	return srv.Shutdown(shutdown)
}

// kycServiceHandler is the internal service's mux.
func kycServiceHandler(svc *kyc.Service, log *slog.Logger, v *kyc.AssertionVerifier) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	mux.Handle("POST /verifications", perimeter.LimitBody(kyc.BodyLimit(svc.Limits()), httpapi.KYCHandler(svc, log, v.Principal)))
	return perimeter.RequestID(mux)
}

func kycAssertionVerifier(cfg config.Config, o kycServiceOptions) (*kyc.AssertionVerifier, error) {
	base := cfg.EffectivePublicURL()
	v := &kyc.AssertionVerifier{Issuer: o.issuer, Audience: o.audience}
	if v.Issuer == "" {
		v.Issuer = base + "/"
	}
	keys := o.keys
	if keys == "" {
		keys = base + oidc.PathGatewayKeys
	}
	if !strings.HasPrefix(keys, "https://") {
		v.Keys = kyc.JWKSFromFile(keys)
		return v, nil
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.keysCA != "" {
		pem, err := os.ReadFile(o.keysCA) // #nosec G304 -- operator-given path
		if err != nil {
			return nil, fmt.Errorf("kyc-service: --gateway-ca: %w", err)
		}
		tlsCfg.RootCAs = x509.NewCertPool()
		if !tlsCfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kyc-service: --gateway-ca %s holds no PEM certificate", o.keysCA)
		}
	}
	v.Keys = kyc.JWKSFromURL(keys, &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsCfg}})
	return v, nil
}
