package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rampart-platform/rampart/internal/audit"
	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/certs"
	"github.com/rampart-platform/rampart/internal/config"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/httpapi"
	"github.com/rampart-platform/rampart/internal/identity"
)

// Version is the build's version, set by the linker.
var Version = "dev"

// Server is a running Rampart instance.
type Server struct {
	data       *Data
	certs      *certs.Provider
	httpsLn    net.Listener
	httpLn     net.Listener
	https      *http.Server
	redirect   *http.Server
	publicURL  string
	background sync.WaitGroup
	stopKYC    func() // ends the embedded face matcher (internal/app/kyc.go)
}

// Start validates cfg, binds the listeners, and only then creates or opens
// the data directory, so a wrong setting or a busy port leaves nothing
// behind. It prints the URL to out.
func Start(ctx context.Context, cfg config.Config, log *slog.Logger, out io.Writer) (*Server, error) {
	src := certSource(cfg)
	src.OnReloadError = func(err error) {
		log.Warn("certificate files changed but could not be loaded; still serving the previous certificate", "err", err)
	}
	if err := certs.Check(src); err != nil {
		return nil, err
	}
	if cfg.SMTP.Host != "" {
		// Checked now, like the certificates: a wrong smtp.* setting must
		// not leave a new data directory behind. (The SMTP sender only
		// checks its settings; it connects per mail.)
		if _, err := newMailer(cfg, log, nil); err != nil {
			return nil, err
		}
	}
	httpsLn, err := listen("listen.https", cfg.Listen.HTTPS)
	if err != nil {
		return nil, err
	}
	var httpLn net.Listener
	if cfg.Listen.HTTP != config.ListenOff {
		if httpLn, err = listen("listen.http", cfg.Listen.HTTP); err != nil {
			_ = httpsLn.Close()
			return nil, err
		}
	}
	closeListeners := func() {
		_ = httpsLn.Close()
		if httpLn != nil {
			_ = httpLn.Close()
		}
	}
	// Links that identity mails or prints (invitations, resets, the
	// bootstrap) must name the port actually bound when listen.https
	// asked for port 0.
	cfg.PublicURL = publicURL(cfg, httpsLn)
	data, err := OpenData(ctx, cfg, log, CreateIfMissing)
	if err != nil {
		closeListeners()
		return nil, err
	}
	provider, err := certs.Open(src)
	if err != nil {
		closeListeners()
		_ = data.Close()
		return nil, err
	}
	s := &Server{data: data, certs: provider, httpsLn: httpsLn, httpLn: httpLn}
	s.publicURL = publicURL(cfg, httpsLn)
	mounts, err := oauthMounts(ctx, data)
	if err != nil {
		closeListeners()
		_ = data.Close()
		return nil, err
	}
	kycService, stopKYC, err := OpenKYC(ctx, data) // identity verification (internal/app/kyc.go)
	if err != nil {
		closeListeners()
		_ = data.Close()
		return nil, err
	}
	s.stopKYC = stopKYC
	handler := httpapi.NewHandler(httpapi.Deps{
		Extra:     append(mounts, consoleMounts(data)...), // OpenID provider and API gateway (internal/app/oidc.go); web console (internal/app/console.go)
		Log:       log,
		PublicURL: s.publicURL,
		Version:   Version,
		Identity:  data.Identity,
		Records:   data.Records,
		Secrets:   data.Secrets,
		OAuth:     data.OIDC,
		Files:     data.Files,
		KYC:       kycService,
		Audit:     data.Audit,
		DB:        data.DB,
		// Tenants made over the API take the CLI's code path.
		Organizations:   orgCreator{data},
		OrgDeletion:     orgCreator{data},
		SessionLifetime: cfg.Sessions.Lifetime,
		SecurityContact: cfg.Security.Contact,
		Checks: []httpapi.Check{
			{Name: "database", Run: data.DB.Ping},
			{Name: "keys", Run: data.Keys.Check},
		},
	})
	errLog := slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	s.https = &http.Server{
		Handler:           handler,
		TLSConfig:         provider.TLSConfig(),
		ReadHeaderTimeout: cfg.Server.ReadHeaderTimeout,
		IdleTimeout:       cfg.Server.IdleTimeout,
		MaxHeaderBytes:    cfg.Server.MaxHeaderBytes,
		ErrorLog:          errLog,
	}
	if httpLn != nil {
		_, port, _ := net.SplitHostPort(httpsLn.Addr().String())
		s.redirect = &http.Server{
			Handler:           provider.HTTPHandler(certs.RedirectHandler(port)),
			ReadHeaderTimeout: cfg.Server.ReadHeaderTimeout,
			IdleTimeout:       cfg.Server.IdleTimeout,
			MaxHeaderBytes:    cfg.Server.MaxHeaderBytes,
			ErrorLog:          errLog,
		}
	}
	if err := data.Audit.Record(ctx, data.DB, audit.Event{Org: audit.PlatformOrg, Actor: "system", Action: "platform.start",
		Details: map[string]any{"version": Version, "tls": provider.Mode(), "database": string(data.DB.Dialect())}}); err != nil {
		closeListeners()
		stopKYC()
		_ = data.Close()
		return nil, err
	}
	fmt.Fprintf(out, "Rampart %s is running at %s\n", Version, s.publicURL)
	fmt.Fprintf(out, "  TLS: %s\n", provider.Describe())
	if httpLn != nil {
		fmt.Fprintf(out, "  http://%s redirects to HTTPS\n", displayAddr(httpLn.Addr()))
	}
	fmt.Fprintf(out, "  data: %s (%s)\n", cfg.DataDir, data.DB.Dialect())
	if err := printBootstrapLink(ctx, data, out); err != nil {
		closeListeners()
		stopKYC()
		_ = data.Close()
		return nil, err
	}
	return s, nil
}

// printBootstrapLink prints a fresh bootstrap link while the instance has
// no platform operator. The link goes to out (the terminal) only, never to
// the log: whoever opens it first becomes the platform's owner.
func printBootstrapLink(ctx context.Context, data *Data, out io.Writer) error {
	need, err := data.Identity.NeedsBootstrap(ctx)
	if err != nil || !need {
		return err
	}
	l, err := data.Identity.IssueBootstrapLink(ctx, "system")
	if err != nil {
		return err
	}
	fmt.Fprint(out, BootstrapLine(l))
	return nil
}

// BootstrapLine is how a bootstrap link is shown to the operator.
func BootstrapLine(l identity.BootstrapLink) string {
	return fmt.Sprintf("Bootstrap: open %s within %s to create the first operator account\n", l.URL, humanDuration(identity.BootstrapTTL))
}

// humanDuration writes whole hours and minutes in words: "1 hour".
func humanDuration(d time.Duration) string {
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	if d%time.Hour == 0 {
		return plural(int(d/time.Hour), "hour")
	}
	return plural(int(d/time.Minute), "minute")
}

// orgCreator lets the API create tenants through Data.CreateOrganization.
type orgCreator struct{ d *Data }

var (
	_ httpapi.OrganizationCreator = orgCreator{}
	_ httpapi.OrganizationDeleter = orgCreator{}
)

func (o orgCreator) RequestOrgDeletion(ctx context.Context, p authz.Principal, confirm string) (httpapi.OrgDeletionRequest, error) {
	r, err := o.d.RequestOrgDeletion(ctx, p, confirm)
	return httpapi.OrgDeletionRequest(r), err
}

func (o orgCreator) OrgDeletionRequest(ctx context.Context, p authz.Principal) (httpapi.OrgDeletionRequest, error) {
	r, err := o.d.OrgDeletionRequest(ctx, p)
	return httpapi.OrgDeletionRequest(r), err
}

func (o orgCreator) CancelOrgDeletion(ctx context.Context, p authz.Principal) error {
	return o.d.CancelOrgDeletion(ctx, p)
}

func (o orgCreator) DeleteOrganization(ctx context.Context, actor, idOrSlug, confirm string) (httpapi.OrgDeletion, error) {
	del, err := o.d.DeleteOrganization(ctx, actor, idOrSlug, confirm)
	return httpapi.OrgDeletion{OrgID: del.OrgID, Slug: del.Slug, DeletedAt: del.DeletedAt, RowsDeleted: del.Rows}, err
}

func (o orgCreator) CreateOrganization(ctx context.Context, actor, name, slug string) (httpapi.Organization, error) {
	org, err := o.d.CreateOrganization(ctx, actor, name, slug)
	if err != nil {
		return httpapi.Organization{}, err
	}
	return httpapi.Organization{ID: org.ID, Slug: org.Slug, Name: org.Name, CreatedAt: org.CreatedAt}, nil
}

// ReloadCertificates re-reads certificate files (SIGHUP); on failure the
// current certificate stays in service.
func (s *Server) ReloadCertificates() error { return s.certs.Reload() }

// URL is the instance's public URL (with the bound port when it was 0).
func (s *Server) URL() string { return s.publicURL }

// HTTPSAddr is the bound HTTPS address.
func (s *Server) HTTPSAddr() net.Addr { return s.httpsLn.Addr() }

// HTTPAddr is the bound redirect address, or nil when off.
func (s *Server) HTTPAddr() net.Addr {
	if s.httpLn == nil {
		return nil
	}
	return s.httpLn.Addr()
}

// Data returns the open instance.
func (s *Server) Data() *Data { return s.data }

// Serve answers requests until ctx ends, then shuts down gracefully:
// listeners close, requests in flight get up to server.shutdown_timeout to
// finish, background jobs stop, the database is closed.
func (s *Server) Serve(ctx context.Context) error {
	cfg := s.data.Config
	log := s.data.Log
	errc := make(chan error, 2)
	go func() { errc <- s.https.ServeTLS(s.httpsLn, "", "") }()
	if s.redirect != nil {
		go func() { errc <- s.redirect.Serve(s.httpLn) }()
	}
	jobs, stopJobs := context.WithCancel(context.Background())
	s.background.Add(1)
	go s.checkpointLoop(jobs, cfg.Audit.CheckpointInterval)
	s.background.Add(1)
	go s.oauthMaintenance(jobs)
	s.background.Add(1)
	go s.fileJanitor(jobs)      // removes uploads cut short (internal/app/files.go)
	s.startBackupSchedule(jobs) // backup.schedule: create + prune (internal/app/backup.go)

	var serveErr error
	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			serveErr = errs.E(errs.Unavailable, "app.Serve", "server stopped", err)
		}
	}
	log.Info("shutting down", "timeout", cfg.Server.ShutdownTimeout.String())
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, srv := range []*http.Server{s.https, s.redirect} {
		if srv == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Shutdown(shutdownCtx); err != nil {
				log.Warn("shutdown did not finish in time; closing connections", "err", err)
				_ = srv.Close()
			}
		}()
	}
	wg.Wait()
	stopJobs()
	s.background.Wait()
	s.stopKYC()
	_ = s.data.Audit.Record(context.Background(), s.data.DB, audit.Event{Org: audit.PlatformOrg, Actor: "system", Action: "platform.stop"})
	// Data.Close seals what was written since the last checkpoint.
	if err := s.data.Close(); err != nil {
		serveErr = errors.Join(serveErr, errs.E(errs.Unavailable, "app.Serve", "closing the database failed", err))
	}
	log.Info("stopped")
	return serveErr
}

func (s *Server) checkpointLoop(ctx context.Context, every time.Duration) {
	defer s.background.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := s.data.Audit.CheckpointAll(ctx, s.data.DB); err != nil {
				s.data.Log.Warn("audit checkpoint failed", "err", err)
			} else if n > 0 {
				s.data.Log.Debug("audit checkpoints signed", "chains", n)
			}
		}
	}
}

func listen(setting, addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, errs.E(errs.Invalid, "app.listen", fmt.Sprintf("%s: cannot listen on %s: %s", setting, addr, listenProblem(err)), err)
	}
	return ln, nil
}

// listenProblem names the usual causes in words an operator acts on.
func listenProblem(err error) string {
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Err != nil {
		msg := opErr.Err.Error()
		switch {
		case strings.Contains(msg, "address already in use"):
			return "the port is already in use by another program"
		case strings.Contains(msg, "permission denied"):
			return "permission denied (ports below 1024 need privileges)"
		}
		return msg
	}
	return err.Error()
}

func certSource(cfg config.Config) certs.Source {
	src := certs.Source{
		CertFile:         cfg.TLS.CertFile,
		KeyFile:          cfg.TLS.KeyFile,
		ACMEDomains:      cfg.TLS.ACME.Domains,
		ACMEEmail:        cfg.TLS.ACME.Email,
		ACMEDirectoryURL: cfg.TLS.ACME.DirectoryURL,
		DataDir:          cfg.DataDir,
	}
	if len(src.ACMEDomains) > 0 {
		src.ACMECacheDir = cfg.ACMECacheDir()
	}
	return src
}

// publicURL is the configured public URL, or https://localhost with the
// port actually bound (which differs from the setting when it was 0).
func publicURL(cfg config.Config, ln net.Listener) string {
	if cfg.PublicURL != "" {
		return cfg.EffectivePublicURL()
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	if p, _ := strconv.Atoi(port); p == 443 {
		return "https://localhost"
	}
	return "https://localhost:" + port
}

// displayAddr shows a wildcard listener as localhost, the address a person
// on this machine would type.
func displayAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
