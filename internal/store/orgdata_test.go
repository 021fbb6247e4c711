package store

import (
	"slices"
	"testing"
)

func TestChildrenFirst(t *testing.T) {
	// users -> organizations; sessions -> users; user_roles -> users; audit stands alone.
	parents := map[string][]string{
		"users":      {"organizations"},
		"sessions":   {"users"},
		"user_roles": {"users"},
	}
	got := childrenFirst([]string{"audit", "organizations", "sessions", "user_roles", "users"}, parents)
	pos := func(s string) int { return slices.Index(got, s) }
	if len(got) != 5 {
		t.Fatalf("got %v", got)
	}
	for child, ps := range parents {
		for _, p := range ps {
			if pos(child) > pos(p) {
				t.Errorf("%s must come before %s: %v", child, p, got)
			}
		}
	}
	// A table the list leaves out is not emitted, but still orders the rest.
	got = childrenFirst([]string{"sessions", "organizations"}, parents)
	if !slices.Equal(got, []string{"sessions", "organizations"}) {
		t.Errorf("got %v", got)
	}
}
