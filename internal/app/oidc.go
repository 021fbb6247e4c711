package app

import (
	"context"
	"time"

	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/gateway"
	"github.com/rampart-platform/rampart/internal/httpapi"
	"github.com/rampart-platform/rampart/internal/oidc"
)

// openOIDC builds the OpenID provider on an open instance.
func openOIDC(d *Data) error {
	cfg := d.Config
	p, err := oidc.New(d.DB, d.Root, d.Audit, d.Identity, d.Log, d.Now, oidc.Config{
		PublicURL:       cfg.EffectivePublicURL(),
		AccessTokenTTL:  cfg.OIDC.AccessTokenTTL,
		RefreshTokenTTL: cfg.OIDC.RefreshTokenTTL,
		KeyRotation:     cfg.OIDC.SigningKeyRotation,
	})
	if err != nil {
		return err
	}
	d.OIDC = p
	return nil
}

// oauthMounts makes the signing keys (first start) and returns the
// provider's and the gateway's handlers for the HTTPS mux.
func oauthMounts(ctx context.Context, d *Data) ([]httpapi.Mount, error) {
	if err := d.OIDC.EnsureKeys(ctx); err != nil {
		return nil, err
	}
	var mounts []httpapi.Mount
	for _, pattern := range d.OIDC.Patterns() {
		mounts = append(mounts, httpapi.Mount{Pattern: pattern, Handler: d.OIDC.Handler(), BodyLimit: 64 << 10})
	}
	var routes []gateway.Route
	for _, r := range d.Config.GatewayRoutes() {
		routes = append(routes, gateway.Route{Prefix: r.Prefix, Upstream: r.Upstream, Scopes: r.Scopes, RateLimit: r.RateLimit,
			InjectSecret: r.InjectSecret, InjectHeader: r.InjectHeader})
	}
	if len(routes) == 0 {
		return mounts, nil
	}
	var src gateway.SecretSource
	if d.Secrets != nil {
		src = vaultSource{d}
	}
	gw, err := gateway.New(routes, d.OIDC, src, d.Audit, d.DB, d.Log, d.Now)
	if err != nil {
		return nil, err
	}
	for _, prefix := range gw.Prefixes() {
		// Bodies stream to the upstream; the upstream sets its own limit.
		mounts = append(mounts, httpapi.Mount{Pattern: prefix, Handler: gw, BodyLimit: 1 << 30})
	}
	return mounts, nil
}

// vaultSource lets the gateway inject a credential-vault secret. The
// operator's gateway.routes setting is the authorization: the call runs as
// the calling client with exactly secrets.use, and the vault audits it.
type vaultSource struct{ d *Data }

func (v vaultSource) UseForGateway(ctx context.Context, org, clientID, secretID, purpose string) (string, error) {
	p := authz.Principal{Kind: authz.KindClient, UserID: clientID, OrgID: org,
		Roles:            []authz.Role{{Name: "gateway", Permissions: []authz.Permission{authz.SecretsUse}}},
		TokenPermissions: []authz.Permission{authz.SecretsUse}}
	val, err := v.d.Secrets.Use(authz.WithPrincipal(ctx, p), p, secretID, purpose)
	if err != nil {
		return "", err
	}
	defer val.Wipe()
	return val.Text(), nil
}

// oauthMaintenance replaces expiring signing keys and deletes expired
// requests and tokens, hourly.
func (s *Server) oauthMaintenance(ctx context.Context) {
	defer s.background.Done()
	s.data.OIDC.Run(ctx, time.Hour)
}
