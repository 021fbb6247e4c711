package backup_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"crypto/sha256"
	"encoding/hex"

	"github.com/rampart-platform/rampart/internal/backup"
)

func sha256Hex(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newWebhook(t *testing.T, got chan<- map[string]string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]string
		_ = json.NewDecoder(r.Body).Decode(&m)
		got <- m
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// simulate takes one backup a day at 02:00 UTC from 2026-01-01 for 121
// days, pruning after each (as the scheduler does), and returns the days
// (0 = Jan 1) that remain.
func simulate(p backup.Policy, verifiedDay int) []int {
	start := time.Date(2026, 1, 1, 2, 0, 0, 0, time.UTC)
	var have []backup.Info
	for day := 0; day <= 120; day++ {
		at := start.AddDate(0, 0, day)
		b := backup.Info{ID: backup.NewID(at), CreatedAt: at}
		if day == verifiedDay {
			b.Verified = &backup.Verification{OK: true, At: at.Add(time.Hour)}
		}
		have = append(have, b)
		have, _ = backup.Plan(have, at.Add(30*time.Minute), p, time.UTC)
	}
	var days []int
	for _, b := range have {
		days = append(days, int(b.CreatedAt.Sub(start).Hours()/24))
	}
	return days
}

func rangeDays(from, to int) []int {
	var out []int
	for d := from; d <= to; d++ {
		out = append(out, d)
	}
	return out
}

func TestRetentionOver120SimulatedDays(t *testing.T) {
	tests := []struct {
		name   string
		policy backup.Policy
		verify int
		want   []int
	}{
		// 35 days: day 120 (May 1) back to day 86 (Mar 28); the three
		// monthly (May 1, Apr 30, Mar 31), weekly and daily generations
		// all fall inside them. Day 10 is the newest verified backup.
		{"the default policy keeps 35 days and the newest verified backup", backup.DefaultPolicy, 10,
			append([]int{10}, rangeDays(86, 120)...)},
		// 7 days (Apr 25..May 1), plus: weekly = newest of the ISO weeks
		// of May 1, Apr 26 (inside) and Apr 19 (day 108); monthly = May 1,
		// Apr 30 (inside) and Mar 31 (day 89).
		{"a short minimum age shows the generations", backup.Policy{MinAge: 7 * 24 * time.Hour, Daily: 3, Weekly: 3, Monthly: 3}, -1,
			append([]int{89, 108}, rangeDays(114, 120)...)},
		{"no generations: only the minimum age and the newest", backup.Policy{MinAge: 3 * 24 * time.Hour}, -1,
			rangeDays(118, 120)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := simulate(tc.policy, tc.verify)
			if !equalInts(got, tc.want) {
				t.Errorf("remaining days = %v\nwant %v", got, tc.want)
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPruneNeverDeletesTheNewestBackup(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	old := []backup.Info{{ID: "a", CreatedAt: now.AddDate(-1, 0, 0)}}
	keep, drop := backup.Plan(old, now, backup.Policy{MinAge: time.Hour}, nil)
	if len(keep) != 1 || len(drop) != 0 {
		t.Fatalf("keep %v drop %v", keep, drop)
	}
}

func TestPruneDeletesListingArchiveAndVerification(t *testing.T) {
	tg, _ := dirTarget(t)
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	var ids []string
	for i, age := range []time.Duration{72 * time.Hour, 48 * time.Hour, time.Hour} {
		at := now.Add(-age)
		id := backup.NewID(at)
		ids = append(ids, id)
		info, _ := json.Marshal(backup.Info{ID: id, CreatedAt: at, Size: int64(i)})
		for name, body := range map[string]string{"backups/" + id + ".age": "x", "backups/" + id + ".json": string(info), "backups/" + id + ".verify.json": `{"ok":true}`} {
			if _, err := tg.Put(context.Background(), name, strings.NewReader(body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	deleted, err := backup.Prune(context.Background(), tg, backup.Policy{MinAge: 24 * time.Hour, Daily: 1}, now, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	// Kept: the newest (min age and daily); the two older ones go, even
	// the one the verification says is fine, because a newer one is fine too.
	if len(deleted) != 2 || deleted[0].ID != ids[0] || deleted[1].ID != ids[1] {
		t.Fatalf("deleted = %+v", deleted)
	}
	names, _ := tg.List(context.Background(), "")
	if len(names) != 3 || !strings.HasPrefix(names[0], "backups/"+ids[2]) {
		t.Fatalf("left = %v", names)
	}
}
