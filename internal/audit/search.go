package audit

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/store"
)

// Filter narrows a search of one organization's chain. Results come newest
// first; Before is the cursor (entries with a smaller sequence number).
type Filter struct {
	Action string    // exact action, or a prefix ending in "." ("auth.")
	Actor  string    // exact actor
	Since  time.Time // inclusive
	Until  time.Time // exclusive
	Before int64     // cursor: only entries with seq < Before (0: from the newest)
	Limit  int       // 1..200, default 50
}

// ParseFilter reads a Filter from query parameters action, actor, since,
// until (RFC 3339), cursor and limit, naming the first bad one.
func ParseFilter(q url.Values) (Filter, error) {
	const op = "audit.ParseFilter"
	f := Filter{Action: q.Get("action"), Actor: q.Get("actor"), Limit: 50}
	var problems []string
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(t.name); v != "" {
			ts, err := time.Parse(time.RFC3339, v)
			if err != nil {
				problems = append(problems, t.name+": must be an RFC 3339 time such as 2026-11-25T10:00:00Z")
				continue
			}
			*t.dst = ts
		}
	}
	if v := q.Get("cursor"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			problems = append(problems, "cursor: must be a cursor returned by a previous page")
		}
		f.Before = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			problems = append(problems, "limit: must be a number from 1 to 200")
		}
		f.Limit = n
	}
	if len(f.Action) > 100 || len(f.Actor) > 200 {
		problems = append(problems, "action/actor: too long")
	}
	if len(problems) > 0 {
		return Filter{}, errs.E(errs.Invalid, op, strings.Join(problems, "; "))
	}
	return f, nil
}

// Record is one entry as shown to org admins and auditors.
type Record struct {
	Seq       int64           `json:"seq"`
	Time      time.Time       `json:"time"`
	Actor     string          `json:"actor"`
	Action    string          `json:"action"`
	Target    string          `json:"target"`
	Outcome   string          `json:"outcome"`
	IP        string          `json:"ip"`
	UserAgent string          `json:"user_agent"`
	Details   json.RawMessage `json:"details"`
	Hash      string          `json:"hash"`
}

// Page is one page of search results.
type Page struct {
	Items      []Record `json:"items"`
	NextCursor string   `json:"next_cursor,omitempty"`
}

// Search returns entries of org's chain matching f, newest first.
func (l *Log) Search(ctx context.Context, db *store.DB, org string, f Filter) (Page, error) {
	const op = "audit.Search"
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	q := "SELECT seq, at, actor, action, target, outcome, ip, user_agent, details, hash FROM audit_events WHERE org_id = ?"
	args := []any{org}
	if f.Action != "" {
		if strings.HasSuffix(f.Action, ".") {
			// Prefix match without LIKE wildcards from user input.
			q += " AND substr(action, 1, ?) = ?"
			args = append(args, len(f.Action), f.Action)
		} else {
			q += " AND action = ?"
			args = append(args, f.Action)
		}
	}
	if f.Actor != "" {
		q += " AND actor = ?"
		args = append(args, f.Actor)
	}
	if !f.Since.IsZero() {
		q += " AND at >= ?"
		args = append(args, f.Since.UnixMicro())
	}
	if !f.Until.IsZero() {
		q += " AND at < ?"
		args = append(args, f.Until.UnixMicro())
	}
	if f.Before > 0 {
		q += " AND seq < ?"
		args = append(args, f.Before)
	}
	q += " ORDER BY seq DESC LIMIT ?"
	args = append(args, f.Limit+1)
	page := Page{Items: []Record{}}
	err := db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		rows, err := tx.Query(ctx, q, args...)
		if err != nil {
			return errs.E(errs.Unavailable, op, "database unavailable", err)
		}
		defer rows.Close()
		for rows.Next() {
			var r Record
			var at int64
			var details string
			var hash []byte
			if err := rows.Scan(&r.Seq, &at, &r.Actor, &r.Action, &r.Target, &r.Outcome, &r.IP, &r.UserAgent, &details, &hash); err != nil {
				return errs.E(errs.Unavailable, op, "database unavailable", err)
			}
			r.Time = timeMicro(at)
			r.Details = json.RawMessage(details)
			r.Hash = hex.EncodeToString(hash)
			page.Items = append(page.Items, r)
		}
		return rows.Err()
	})
	if err != nil {
		return Page{}, err
	}
	if len(page.Items) > f.Limit {
		page.Items = page.Items[:f.Limit]
		page.NextCursor = strconv.FormatInt(page.Items[f.Limit-1].Seq, 10)
	}
	return page, nil
}
