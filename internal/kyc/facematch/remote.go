package facematch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-platform/rampart/internal/errs"
)

// Secret is a credential that never prints.
type Secret string

// String redacts the value, so a Secret in a log line or %v shows nothing.
func (Secret) String() string { return "[redacted]" }

// GoString redacts for %#v too.
func (Secret) GoString() string { return "[redacted]" }

// RemoteConfig configures a remote face-verification provider.
type RemoteConfig struct {
	// Endpoint is the provider's base URL (https only), e.g.
	// https://<resource>.cognitiveservices.azure.com.
	Endpoint string
	// Key is sent as Ocp-Apim-Subscription-Key.
	Key Secret
	// Timeout bounds each HTTP attempt; 0 means 10s.
	Timeout time.Duration
	// Attempts is how many times a call is tried on a network error, 429 or
	// 5xx; 0 means 3. Backoff doubles from 200ms, capped at 2s (a
	// Retry-After up to 5s is honoured).
	Attempts int
	// Client is the HTTP client (tests give one trusting their server);
	// nil means a client with TLS 1.2+ and Timeout.
	Client *http.Client
}

// Remote calls an HTTPS API with the Azure Face shapes:
//
//	POST {endpoint}/face/v1.0/detect?returnFaceId=true  (octet-stream image) -> [{"faceId": "..."}]
//	POST {endpoint}/face/v1.0/verify {"faceId1","faceId2"} -> {"isIdentical": bool, "confidence": 0..1}
//
// The score is the provider's confidence.
type Remote struct {
	base     *url.URL
	key      Secret
	client   *http.Client
	timeout  time.Duration
	attempts int
	sleep    func(context.Context, time.Duration) error
}

// NewRemote checks the configuration; the endpoint must be https.
func NewRemote(cfg RemoteConfig) (*Remote, error) {
	const op = "facematch.NewRemote"
	u, err := url.Parse(strings.TrimRight(cfg.Endpoint, "/"))
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" {
		return nil, errs.E(errs.Invalid, op, "kyc remote endpoint must be an https URL without credentials or query")
	}
	if cfg.Key == "" {
		return nil, errs.E(errs.Invalid, op, "kyc remote key is required")
	}
	r := &Remote{base: u, key: cfg.Key, client: cfg.Client, timeout: cfg.Timeout, attempts: cfg.Attempts, sleep: sleepCtx}
	if r.timeout <= 0 {
		r.timeout = 10 * time.Second
	}
	if r.attempts <= 0 {
		r.attempts = 3
	}
	if r.client == nil {
		r.client = &http.Client{Timeout: r.timeout}
	}
	return r, nil
}

// Name is "remote".
func (r *Remote) Name() string { return "remote:" + r.base.Host }

// Match detects one face in each image, then verifies the two face ids.
func (r *Remote) Match(ctx context.Context, document, selfie []byte) (float64, error) {
	id1, err := r.detect(ctx, "document image", document)
	if err != nil {
		return 0, err
	}
	id2, err := r.detect(ctx, "selfie", selfie)
	if err != nil {
		return 0, err
	}
	body, _ := json.Marshal(map[string]string{"faceId1": id1, "faceId2": id2})
	var v struct {
		IsIdentical bool     `json:"isIdentical"`
		Confidence  *float64 `json:"confidence"`
	}
	if err := r.call(ctx, "/face/v1.0/verify", "", "application/json", body, &v); err != nil {
		return 0, err
	}
	if v.Confidence == nil {
		return 0, errs.E(errs.Unavailable, "facematch.Remote.Match", "the face provider's answer has no confidence")
	}
	return clamp01(*v.Confidence), nil
}

func (r *Remote) detect(ctx context.Context, what string, img []byte) (string, error) {
	var faces []struct {
		FaceID string `json:"faceId"`
	}
	q := "returnFaceId=true&recognitionModel=recognition_04&detectionModel=detection_03&returnFaceLandmarks=false"
	if err := r.call(ctx, "/face/v1.0/detect", q, "application/octet-stream", img, &faces); err != nil {
		return "", err
	}
	if len(faces) == 0 || faces[0].FaceID == "" {
		return "", errs.E(errs.Invalid, "facematch.Remote.Match", "no face found in the "+what)
	}
	// The provider orders faces by size; the largest is the subject.
	return faces[0].FaceID, nil
}

// call POSTs body and decodes a JSON answer into out, retrying network
// errors, 429 and 5xx with backoff. The body is never logged or kept.
func (r *Remote) call(ctx context.Context, path, query, contentType string, body []byte, out any) error {
	const op = "facematch.Remote"
	u := *r.base
	u.Path += path
	u.RawQuery = query
	backoff := 200 * time.Millisecond
	var last error
	for attempt := 1; ; attempt++ {
		status, retryAfter, err := r.once(ctx, u.String(), contentType, body, out)
		switch {
		case err == nil && status == http.StatusOK:
			return nil
		case err == nil && status == http.StatusBadRequest:
			return errs.E(errs.Invalid, op, "the face provider refused an image")
		case err == nil && (status == http.StatusUnauthorized || status == http.StatusForbidden):
			return errs.E(errs.Unavailable, op, "the face provider refused the key (check kyc.remote_key)")
		case err == nil && status != http.StatusTooManyRequests && status < 500:
			return errs.E(errs.Unavailable, op, fmt.Sprintf("the face provider answered status %d", status))
		}
		if err != nil {
			last = err
		} else {
			last = fmt.Errorf("status %d", status)
		}
		if attempt >= r.attempts || ctx.Err() != nil {
			return errs.E(errs.Unavailable, op, fmt.Sprintf("the face provider failed after %d attempts", attempt), last)
		}
		wait := backoff
		if retryAfter > 0 {
			wait = min(retryAfter, 5*time.Second)
		}
		if err := r.sleep(ctx, wait); err != nil {
			return errs.E(errs.Unavailable, op, "the face provider call was cancelled", err)
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

func (r *Remote) once(ctx context.Context, u, contentType string, body []byte, out any) (status int, retryAfter time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Ocp-Apim-Subscription-Key", string(r.key))
	resp, err := r.client.Do(req)
	if err != nil {
		// url.Error repeats the URL, which holds no secret (the key is a header).
		return 0, 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && s > 0 {
			retryAfter = time.Duration(s) * time.Second
		}
		return resp.StatusCode, retryAfter, nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out); err != nil {
		return 0, 0, errors.New("unreadable answer from the face provider")
	}
	return resp.StatusCode, 0, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
