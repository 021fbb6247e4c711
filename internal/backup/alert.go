package backup

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/logx"
)

// Alerter raises a failed backup, prune, verify, restore or drill: it logs
// the failure and, when a webhook is configured, POSTs
// {"event","error","time"} to it. The error text is the operator-safe
// message, scrubbed of anything secret-looking; never keys or data.
type Alerter struct {
	webhook string
	log     *slog.Logger
	client  *http.Client
	now     func() time.Time
}

// NewAlerter returns an Alerter; webhook may be empty (log only).
func NewAlerter(webhook string, log *slog.Logger, now func() time.Time) *Alerter {
	if now == nil {
		now = time.Now
	}
	return &Alerter{webhook: webhook, log: log, client: &http.Client{Timeout: 10 * time.Second}, now: now}
}

// Alert reports that event failed with err. It never fails itself: a
// webhook that cannot be reached is logged.
func (a *Alerter) Alert(ctx context.Context, event string, err error) {
	msg := errs.SafeMessage(err)
	if msg == "" {
		msg = "internal error"
	}
	msg = logx.RedactString(msg)
	a.log.Error("backup operation failed", "event", event, "err", err)
	if a.webhook == "" {
		return
	}
	body, _ := json.Marshal(map[string]string{"event": event, "error": msg, "time": a.now().UTC().Format(time.RFC3339)})
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	req, rerr := http.NewRequestWithContext(ctx, http.MethodPost, a.webhook, bytes.NewReader(body))
	if rerr != nil {
		a.log.Warn("backup alert webhook: cannot build the request")
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, rerr := a.client.Do(req)
	if rerr != nil {
		// The URL may hold a token: log only that it failed.
		a.log.Warn("backup alert webhook unreachable", "event", event)
		return
	}
	_ = resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		a.log.Warn("backup alert webhook refused the alert", "event", event, "status", fmt.Sprint(resp.StatusCode))
	}
}
