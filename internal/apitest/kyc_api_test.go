package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"hash/crc32"
	"image"
	"image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/rampart-platform/rampart/internal/config"
	"github.com/rampart-platform/rampart/internal/httpapi"
	"github.com/rampart-platform/rampart/internal/kyc"
	"github.com/rampart-platform/rampart/internal/kyc/kyctest"
	"github.com/rampart-platform/rampart/internal/oidc"
	"github.com/rampart-platform/rampart/internal/perimeter"
	"github.com/rampart-platform/rampart/internal/store"
)

// kycBody builds the multipart body of a verification.
func kycBody(t *testing.T, parts map[string][]byte, mrz string) (io.Reader, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, name := range []string{"document", "selfie"} {
		if data, ok := parts[name]; ok {
			// A lying Content-Type: the server sniffs the bytes.
			h := map[string][]string{"Content-Disposition": {`form-data; name="` + name + `"; filename="x.jpg"`}, "Content-Type": {"image/jpeg"}}
			w, err := mw.CreatePart(h)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = w.Write(data)
		}
	}
	if mrz != "" {
		_ = mw.WriteField("mrz", mrz)
	}
	_ = mw.Close()
	return &b, mw.FormDataContentType()
}

func (c *client) verify(parts map[string][]byte, mrz string) response {
	c.t.Helper()
	body, ctype := kycBody(c.t, parts, mrz)
	return c.send("POST", "/api/v1/kyc/verifications", body, map[string]string{"Content-Type": ctype})
}

func pixelBomb(t *testing.T) []byte {
	var b bytes.Buffer
	_ = png.Encode(&b, image.NewGray(image.Rect(0, 0, 1, 1)))
	p := b.Bytes()
	copy(p[16:24], []byte{0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0}) // 100000 x 100000
	crc := crc32.ChecksumIEEE(p[12:29])
	p[29], p[30], p[31], p[32] = byte(crc>>24), byte(crc>>16), byte(crc>>8), byte(crc)
	return p
}

// TestKYCAPI runs identity verification end to end on the real embedded
// face matcher (Node): the public route with its limits and permission,
// and the internal service behind the gateway.
func TestKYCAPI(t *testing.T) {
	node := kyctest.NeedNode(t)
	sock := filepath.Join(t.TempDir(), "kyc.sock")
	in := startWith(t, store.SQLite, func(c *config.Config) {
		c.KYC.Matcher = "embedded"
		c.KYC.FaceServiceDir = kyctest.ServiceDir()
		c.KYC.Node = node
		c.KYC.MaxImageBytes = 256 << 10
		c.Gateway.Routes = []string{"/gw/kyc/ unix:" + sock + " scope=kyc.verify rate=1000"}
	})
	orgs := seed(t, in)
	owner, member := in.client(t), in.client(t)
	owner.login("acme", "owner@acme.test", pw)
	member.login("acme", "member@acme.test", pw)
	doc, selfie := kyctest.SampleFace(t)
	images := map[string][]byte{"document": doc, "selfie": selfie}

	t.Run("a verification answers the MRZ, the checks, the score and the decision", func(t *testing.T) {
		r := owner.verify(images, kyctest.ValidMRZ)
		if r.status != 200 || r.body["decision"] != "verified" || r.body["mrz_valid"] != true || r.body["matcher"] != "embedded:face-api" {
			t.Fatalf("%d %s", r.status, r.raw)
		}
		if s, _ := r.body["face_score"].(float64); s < 0.58 || s > 1 {
			t.Errorf("face_score %v", r.body["face_score"])
		}
		d := r.body["document"].(map[string]any)
		if d["surname"] != "ERIKSSON" || d["format"] != "TD3" || len(d["checks"].([]any)) != 5 {
			t.Errorf("document %v", d)
		}
		if _, ok := r.body["processing_ms"].(float64); !ok || r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("processing_ms %v, cache %q", r.body["processing_ms"], r.header.Get("Cache-Control"))
		}
	})
	t.Run("someone else's face is rejected with its reason", func(t *testing.T) {
		pairs := kyctest.Pairs(t, 1) // [same, other]
		r := owner.verify(map[string][]byte{"document": pairs[1].Document, "selfie": pairs[1].Selfie}, kyctest.ValidMRZ)
		if r.status != 200 || r.body["decision"] != "rejected" || !strings.Contains(r.raw, "face_mismatch") {
			t.Fatalf("%d %s", r.status, r.raw)
		}
	})
	t.Run("bad input gets a clear JSON error", func(t *testing.T) {
		big := bytes.Repeat([]byte{0xff}, 300<<10)
		tests := []struct {
			name   string
			parts  map[string][]byte
			mrz    string
			status int
			want   string
		}{
			{"an oversized image", map[string][]byte{"document": big, "selfie": selfie}, kyctest.ValidMRZ, 413, "document is larger than this server's limit of 262144 bytes"},
			{"a text file", map[string][]byte{"document": []byte("not an image at all"), "selfie": selfie}, kyctest.ValidMRZ, 400, "document: the image is text/plain"},
			{"a pixel bomb", map[string][]byte{"document": doc, "selfie": pixelBomb(t)}, kyctest.ValidMRZ, 400, "selfie: the image is 100000x100000 pixels"},
			{"no selfie", map[string][]byte{"document": doc}, kyctest.ValidMRZ, 400, "the part selfie is missing"},
			{"no MRZ and no OCR engine", images, "", 400, "send the machine-readable zone as the mrz field"},
			{"a corrupted MRZ", images, strings.Replace(kyctest.ValidMRZ, "<<ANNA", "<<4NNA", 1), 400, "(name) : '4' is not a letter"},
		}
		for _, tt := range tests {
			r := owner.verify(tt.parts, tt.mrz)
			errObj, _ := r.body["error"].(map[string]any)
			if r.status != tt.status || errObj == nil || !strings.Contains(errObj["message"].(string), tt.want) {
				t.Errorf("%s: %d %s", tt.name, r.status, r.raw)
			}
		}
		r := owner.send("POST", "/api/v1/kyc/verifications", strings.NewReader(`{"document":"x"}`), map[string]string{"Content-Type": "application/json"})
		if r.status != 400 || !strings.Contains(r.raw, "multipart/form-data") {
			t.Errorf("JSON body: %d %s", r.status, r.raw)
		}
	})
	t.Run("a member without kyc.verify gets 403", func(t *testing.T) {
		r := member.verify(images, kyctest.ValidMRZ)
		if r.status != 403 || !strings.Contains(r.raw, "missing permission kyc.verify") {
			t.Fatalf("%d %s", r.status, r.raw)
		}
	})
	t.Run("the audit log holds the outcome only", func(t *testing.T) {
		var details []string
		_ = in.data.DB.Read(context.Background(), func(ctx context.Context, tx *store.Tx) error {
			rows, err := tx.Query(ctx, "SELECT details FROM audit_events WHERE action = ? AND org_id = ?", "kyc.verify", orgs["acme"].ID)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var d string
				_ = rows.Scan(&d)
				details = append(details, d)
			}
			return rows.Err()
		})
		if len(details) != 2 {
			t.Fatalf("%d entries: %v", len(details), details)
		}
		for _, d := range details {
			var m map[string]any
			_ = json.Unmarshal([]byte(d), &m)
			if len(m) != 4 || m["document_type"] != "P" || m["issuing_country"] != "UTO" || strings.Contains(d, "ERIKSSON") || strings.Contains(d, "740812") {
				t.Errorf("audit details %s", d)
			}
		}
	})

	// The internal service behind the gateway: what `rampart kyc-service`
	// serves, on the Unix socket the gateway route names.
	svc, stop, err := openTestKYC(t, in)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	verifier := &kyc.AssertionVerifier{Issuer: in.base + "/", Audience: "/gw/kyc/",
		Keys: kyc.JWKSFromURL(in.base+oidc.PathGatewayKeys, in.httpClient())}
	mux := http.NewServeMux()
	mux.Handle("POST /verifications", perimeter.LimitBody(kyc.BodyLimit(svc.Limits()), httpapi.KYCHandler(svc, slog.New(slog.DiscardHandler), verifier.Principal)))
	internal := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = internal.Serve(ln) }()
	defer internal.Close()

	ctx := context.Background()
	withScope, secret1, err := in.data.OIDC.CreateClientAsOperator(ctx, "cli", orgs["acme"].ID, oidc.NewClient{Name: "Onboarding", Scopes: []string{"kyc.verify"}})
	if err != nil {
		t.Fatal(err)
	}
	without, secret2, err := in.data.OIDC.CreateClientAsOperator(ctx, "cli", orgs["acme"].ID, oidc.NewClient{Name: "Reporting", Scopes: []string{"records.read"}})
	if err != nil {
		t.Fatal(err)
	}
	token := func(id, secret string, scopes ...string) string {
		cc := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: in.base + oidc.PathToken, Scopes: scopes}
		tk, err := cc.Token(gooidc.ClientContext(ctx, in.httpClient()))
		if err != nil {
			t.Fatal(err)
		}
		return tk.AccessToken
	}
	viaGateway := func(bearer string) (int, string) {
		body, ctype := kycBody(t, images, kyctest.ValidMRZ)
		req, _ := http.NewRequest("POST", in.base+"/gw/kyc/verifications", body)
		req.Header.Set("Content-Type", ctype)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := in.httpClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	t.Run("through the gateway with kyc.verify the internal service verifies", func(t *testing.T) {
		status, body := viaGateway(token(withScope.ID, secret1, "kyc.verify"))
		if status != 200 || !strings.Contains(body, `"decision":"verified"`) {
			t.Fatalf("%d %s", status, body)
		}
	})
	t.Run("a token without kyc.verify is refused by the gateway", func(t *testing.T) {
		if status, body := viaGateway(token(without.ID, secret2, "records.read")); status != 403 {
			t.Fatalf("%d %s", status, body)
		}
		if status, body := viaGateway(""); status != 401 {
			t.Fatalf("no token: %d %s", status, body)
		}
	})
	t.Run("the internal service refuses a call that did not come through the gateway", func(t *testing.T) {
		c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		}}}
		body, ctype := kycBody(t, images, kyctest.ValidMRZ)
		req, _ := http.NewRequest("POST", "http://kyc/verifications", body)
		req.Header.Set("Content-Type", ctype)
		req.Header.Set(kyc.IdentityHeader, "forged")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Fatalf("direct call: %d", resp.StatusCode)
		}
	})
}
