package httpapi

import "strconv"

// RouteDescription is one entry of the API route table as seen from outside
// the package: enough for tests that must cover every route (the
// cross-tenant suite) to follow the table instead of a copy of it.
type RouteDescription struct {
	Method string // "GET", "POST", ...
	Path   string // mux pattern, with {name} wildcards
	// Auth is who may call the route: "public", "active" (fully signed-in
	// session or API token), "enrol" (also sessions that must enrol 2FA
	// first) or "pending" (sessions waiting for their second factor).
	Auth string
}

// DescribeRoutes returns the API route table, in table order. It exposes no
// more than the OpenAPI document does.
func DescribeRoutes() []RouteDescription {
	table := apiRoutes()
	out := make([]RouteDescription, 0, len(table))
	for _, rt := range table {
		out = append(out, RouteDescription{Method: rt.method, Path: rt.path, Auth: describeAuthMode(rt.auth)})
	}
	return out
}

// describeAuthMode names an authMode; a mode added later without a name
// here shows as "mode<n>", which callers treat as authenticated.
func describeAuthMode(m authMode) string {
	switch m {
	case public:
		return "public"
	case active:
		return "active"
	case enrol:
		return "enrol"
	case pending:
		return "pending"
	}
	return "mode" + strconv.Itoa(int(m))
}
