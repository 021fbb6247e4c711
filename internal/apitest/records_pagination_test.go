package apitest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/records"
	"github.com/rampart-platform/rampart/internal/testutil"
)

// TestRecordsPaginationOver10k pages through 10,000 records over the API,
// plainly and through a blind-index filter, while records keep being
// added: every record is seen exactly once, oldest first, and the pages
// hold what the limit says.
func TestRecordsPaginationOver10k(t *testing.T) {
	const total, refs = 10_000, 10
	for _, d := range testutil.Dialects {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			in := start(t, d)
			orgs := seed(t, in)
			c := in.client(t)
			c.login("acme", "owner@acme.test", pw)
			c.expect(201, "POST", "/api/v1/collections", map[string]any{"name": "events", "indexed_fields": []string{"ref"}})

			owner, _ := authz.BuiltinRole(authz.RoleOwner)
			p := authz.Principal{UserID: "seeder", OrgID: orgs["acme"].ID, Kind: authz.KindUser, Roles: []authz.Role{owner}}
			// Seeded through the service, in parallel (group commit), to keep
			// the test short; the reads below go through the API.
			began := time.Now()
			var wg sync.WaitGroup
			errc := make(chan error, 1)
			const workers = 16
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := w; i < total; i += workers {
						body := fmt.Sprintf(`{"n":%d,"ref":"r%d"}`, i, i%refs)
						if _, err := in.data.Records.Create(ctx, p, "events", json.RawMessage(body)); err != nil {
							select {
							case errc <- err:
							default:
							}
							return
						}
					}
				}()
			}
			wg.Wait()
			select {
			case err := <-errc:
				t.Fatal(err)
			default:
			}

			// duringPaging runs after every page but the last.
			pageAll := func(query url.Values, limit int, duringPaging func(page int)) []map[string]any {
				var out []map[string]any
				query.Set("limit", fmt.Sprint(limit))
				for page := 0; ; page++ {
					r := c.expect(200, "GET", "/api/v1/collections/events/records?"+query.Encode(), nil)
					items, _ := r.body["items"].([]any)
					next, _ := r.body["next_cursor"].(string)
					if len(items) > limit || next != "" && len(items) != limit {
						t.Fatalf("page %d: %d items with limit %d, next_cursor %q", page, len(items), limit, next)
					}
					for _, it := range items {
						out = append(out, it.(map[string]any))
					}
					if next == "" {
						return out
					}
					if duringPaging != nil {
						duringPaging(page)
					}
					query.Set("cursor", next)
					if page > total {
						t.Fatal("pagination does not end")
					}
				}
			}

			t.Logf("seeded %d records in %v", total, time.Since(began).Round(time.Millisecond))
			began = time.Now()
			added := 0
			all := pageAll(url.Values{}, records.MaxLimit, func(page int) {
				if page%10 == 0 { // writes during paging land after the cursor
					c.expect(201, "POST", "/api/v1/collections/events/records", map[string]any{"n": total + added, "ref": "late"})
					added++
				}
			})
			if len(all) != total+added {
				t.Fatalf("paged %d records, want %d (+%d added while paging)", len(all), total+added, added)
			}
			seen := map[string]bool{}
			ns := map[float64]bool{}
			for i, rec := range all {
				id := rec["id"].(string)
				if seen[id] {
					t.Fatalf("record %s seen twice", id)
				}
				seen[id] = true
				ns[rec["data"].(map[string]any)["n"].(float64)] = true
				if i > 0 {
					prev, _ := time.Parse(time.RFC3339Nano, all[i-1]["created_at"].(string))
					cur, err := time.Parse(time.RFC3339Nano, rec["created_at"].(string))
					if err != nil || cur.Before(prev) {
						t.Fatalf("not oldest first at %d: %s after %s", i, cur, prev)
					}
				}
			}
			t.Logf("paged them over the API in %v", time.Since(began).Round(time.Millisecond))
			if len(ns) != total+added {
				t.Fatalf("%d distinct documents, want %d", len(ns), total+added)
			}

			q := url.Values{}
			q.Set("where[ref]", "r3")
			filtered := pageAll(q, 97, nil)
			if len(filtered) != total/refs {
				t.Fatalf("where[ref]=r3 paged %d records, want %d", len(filtered), total/refs)
			}
			for _, rec := range filtered {
				if n := int(rec["data"].(map[string]any)["n"].(float64)); n%refs != 3 {
					t.Fatalf("where[ref]=r3 returned n=%d", n)
				}
			}
			c.expect(400, "GET", "/api/v1/collections/events/records?cursor=not-a-cursor", nil)
		})
	}
}
