package apitest

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rampart-platform/rampart/internal/config"
	"github.com/rampart-platform/rampart/internal/oidc"
	"github.com/rampart-platform/rampart/internal/store"
)

// benchSetup runs an instance with one gateway route to a trivial upstream
// and a client-credentials client allowed on it.
func benchSetup(b *testing.B) (in *instance, up *upstream, clientID, secret string) {
	b.Helper()
	up = newUpstream(b)
	in = startWith(b, store.SQLite, func(c *config.Config) {
		c.Gateway.Routes = []string{"/gw/echo/ " + up.srv.URL + " scope=echo.read"}
	})
	ctx := context.Background()
	org, err := in.data.CreateOrganization(ctx, "operator:bench", "Bench", "bench")
	if err != nil {
		b.Fatal(err)
	}
	c, secret, err := in.data.OIDC.CreateClientAsOperator(ctx, "cli", org.ID, oidc.NewClient{Name: "Bench", Scopes: []string{"echo.read"}})
	if err != nil {
		b.Fatal(err)
	}
	return in, up, c.ID, secret
}

func ccRequest(b *testing.B, hc *http.Client, in *instance, id, secret string) string {
	req, _ := http.NewRequest("POST", in.base+oidc.PathToken, strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := hc.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		b.Fatalf("token: %d %s", resp.StatusCode, body)
	}
	return string(body)
}

// BenchmarkClientCredentialsIssuance measures tokens issued per second
// over HTTPS (each one a signed JWT, a row and an audit entry).
func BenchmarkClientCredentialsIssuance(b *testing.B) {
	in, _, id, secret := benchSetup(b)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		hc := in.httpClient()
		for pb.Next() {
			ccRequest(b, hc, in, id, secret)
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "tokens/s")
}

// BenchmarkGatewayOverhead compares calls to a trivial upstream directly
// and through the gateway (token check, scope, assertion, proxy, audit).
func BenchmarkGatewayOverhead(b *testing.B) {
	in, up, id, secret := benchSetup(b)
	hc := in.httpClient()
	raw := ccRequest(b, hc, in, id, secret)
	token := raw[strings.Index(raw, `"access_token":"`)+16:]
	token = token[:strings.Index(token, `"`)]
	direct := &http.Client{Timeout: 10 * time.Second}
	do := func(c *http.Client, u string, withToken bool) time.Duration {
		req, _ := http.NewRequest("GET", u, nil)
		if withToken {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		t0 := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
		return time.Since(t0)
	}
	b.Run("latency", func(b *testing.B) {
		var d, g []time.Duration
		for range b.N {
			d = append(d, do(direct, up.srv.URL+"/x", false))
			g = append(g, do(hc, in.base+"/gw/echo/x", true))
		}
		slices.Sort(d)
		slices.Sort(g)
		pct := func(s []time.Duration, p float64) float64 {
			return float64(s[int(float64(len(s)-1)*p)].Microseconds()) / 1000
		}
		b.ReportMetric(pct(d, 0.5), "direct-p50-ms")
		b.ReportMetric(pct(g, 0.5), "gateway-p50-ms")
		b.ReportMetric(pct(g, 0.5)-pct(d, 0.5), "added-p50-ms")
		b.ReportMetric(pct(g, 0.99)-pct(d, 0.99), "added-p99-ms")
	})
	b.Run("throughput", func(b *testing.B) {
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			c := in.httpClient()
			for pb.Next() {
				do(c, in.base+"/gw/echo/x", true)
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
	})
}
