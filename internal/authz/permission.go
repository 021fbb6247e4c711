package authz

import (
	"strconv"
	"strings"

	"github.com/rampart-platform/rampart/internal/errs"
)

// Permission names one thing a principal may do inside its organization.
// The set is fixed (see Catalogue): roles combine catalogue permissions but
// can never invent new ones, so every handler's check names a permission
// that an administrator can see, grant and audit.
type Permission string

// The catalogue of permissions. The strings are stable: they are stored in
// custom roles and API tokens and appear in the API.
const (
	RecordsRead       Permission = "records.read"
	RecordsWrite      Permission = "records.write"
	FilesRead         Permission = "files.read"
	FilesWrite        Permission = "files.write"
	CollectionsManage Permission = "collections.manage"
	MembersRead       Permission = "members.read"
	MembersManage     Permission = "members.manage"
	RolesManage       Permission = "roles.manage"
	PolicyManage      Permission = "policy.manage"
	SessionsManage    Permission = "sessions.manage"
	AuditRead         Permission = "audit.read"
	SecretsUse        Permission = "secrets.use"
	SecretsManage     Permission = "secrets.manage"
	ClientsManage     Permission = "clients.manage"
	SSOManage         Permission = "sso.manage"
	KeysManage        Permission = "keys.manage"
	OrgDelete         Permission = "org.delete"
	KYCVerify         Permission = "kyc.verify"
)

// PermissionInfo is one catalogue entry, as shown to whoever edits roles.
type PermissionInfo struct {
	Name        Permission `json:"name"`
	Description string     `json:"description"`
}

// catalogue is the single source of truth for what exists; its order is the
// order of Catalogue and of each permission's bit in a permSet. It is never
// modified and never handed out (Catalogue returns a copy).
var catalogue = [...]PermissionInfo{
	{RecordsRead, "Read and list records in collections"},
	{RecordsWrite, "Create, replace, patch and delete records in collections"},
	{FilesRead, "Download files"},
	{FilesWrite, "Upload and delete files"},
	{CollectionsManage, "Create, change and delete collections, their schemas and indexed fields"},
	{MembersRead, "List the organization's members and their roles"},
	{MembersManage, "Invite and remove members and change their roles"},
	{RolesManage, "Create, change and delete custom roles"},
	{PolicyManage, "Change the organization's password and two-factor policies"},
	{SessionsManage, "List and revoke other members' sessions"},
	{AuditRead, "Search and export the organization's audit log"},
	{SecretsUse, "Use a stored credential's value (reveal it or have the gateway inject it); every use is audited"},
	{SecretsManage, "Create and revoke stored credentials and read their metadata, never their values"},
	{ClientsManage, "Register and manage OAuth clients and their secrets"},
	{SSOManage, "Configure single sign-on with the organization's identity provider"},
	{KeysManage, "Rotate the organization's encryption keys"},
	{OrgDelete, "Delete the organization and crypto-shred all of its data"},
	// Appended last: bit positions of the entries above must not move.
	{KYCVerify, "Submit an identity document and a selfie for verification (nothing is stored but the outcome)"},
}

// A permSet holds one bit per catalogue entry. The array length check below
// fails to compile if the catalogue ever outgrows the 32 bits.
type permSet uint32

var _ [32 - len(catalogue)]struct{}

// allPermissions is the set of every catalogue permission.
const allPermissions = permSet(1)<<len(catalogue) - 1

// index is p's position in the catalogue, or -1 for an unknown permission.
func (p Permission) index() int {
	for i := range catalogue {
		if catalogue[i].Name == p {
			return i
		}
	}
	return -1
}

// known reports whether p is in the catalogue.
func (p Permission) known() bool { return p.index() >= 0 }

// collectionScoped reports whether a role's Collections limit p. Only the
// permissions over tenant data are limited; the others act on the whole
// organization, where a collection means nothing.
func (p Permission) collectionScoped() bool {
	switch p {
	case RecordsRead, RecordsWrite, FilesRead, FilesWrite:
		return true
	}
	return false
}

// setOf builds a permSet; unknown permissions are left out, so they can
// never be granted.
func setOf(ps ...Permission) permSet {
	var s permSet
	for _, p := range ps {
		if i := p.index(); i >= 0 {
			s |= 1 << i
		}
	}
	return s
}

// has reports whether s contains p.
func (s permSet) has(p Permission) bool {
	i := p.index()
	return i >= 0 && s&(1<<i) != 0
}

// list returns the members of s in catalogue order.
func (s permSet) list() []Permission {
	out := make([]Permission, 0, len(catalogue))
	for i := range catalogue {
		if s&(1<<i) != 0 {
			out = append(out, catalogue[i].Name)
		}
	}
	return out
}

// Catalogue returns every permission with its description, in a stable
// order that groups related permissions.
func Catalogue() []PermissionInfo {
	return append([]PermissionInfo(nil), catalogue[:]...)
}

// Limits on how much of a caller's input an error message repeats: the
// input may be hostile (a megabyte-long name, a million unknown names), and
// an error message must stay small enough to log and return.
const (
	maxQuotedBytes = 64 // bytes of one bad value shown
	maxListed      = 10 // bad values named in one message
)

// quote returns s quoted for an error message, cut to maxQuotedBytes.
// strconv.Quote escapes control characters and any invalid UTF-8 the cut
// may leave, so the result is always safe, printable UTF-8.
func quote(s string) string {
	if len(s) > maxQuotedBytes {
		return strconv.Quote(s[:maxQuotedBytes]) + "..."
	}
	return strconv.Quote(s)
}

// quoteList quotes up to maxListed values, noting how many were left out.
func quoteList(values []string) string {
	shown := values
	if len(shown) > maxListed {
		shown = shown[:maxListed]
	}
	quoted := make([]string, len(shown))
	for i, v := range shown {
		quoted[i] = quote(v)
	}
	s := strings.Join(quoted, ", ")
	if n := len(values) - len(shown); n > 0 {
		s += " and " + strconv.Itoa(n) + " more"
	}
	return s
}

// validNames lists the catalogue for "valid permissions are ..." hints.
func validNames() string {
	names := make([]string, len(catalogue))
	for i := range catalogue {
		names[i] = string(catalogue[i].Name)
	}
	return strings.Join(names, ", ")
}

// ParsePermission returns the catalogue permission named s. The match is
// exact (no case folding or trimming), so a stored name means one thing
// only. An unknown name is an errs.Invalid error that names it and lists
// the valid permissions.
func ParsePermission(s string) (Permission, error) {
	p := Permission(s)
	if !p.known() {
		return "", errs.E(errs.Invalid, "authz.ParsePermission",
			"unknown permission "+quote(s)+"; valid permissions are "+validNames())
	}
	return p, nil
}

// ParsePermissions parses a list of names, as sent for an API token or a
// custom role. Duplicates are dropped (first occurrence kept). The result is
// never nil, even for an empty list, because a nil TokenPermissions means
// "not restricted" to Principal. Unknown names are reported together in one
// errs.Invalid error so the caller can fix them all at once.
func ParsePermissions(names []string) ([]Permission, error) {
	out := make([]Permission, 0, min(len(names), len(catalogue)))
	var seen permSet
	var unknown []string
	for _, s := range names {
		p := Permission(s)
		i := p.index()
		if i < 0 {
			unknown = append(unknown, s)
			continue
		}
		if seen&(1<<i) == 0 {
			seen |= 1 << i
			out = append(out, p)
		}
	}
	switch len(unknown) {
	case 0:
		return out, nil
	case 1:
		return nil, errs.E(errs.Invalid, "authz.ParsePermissions",
			"unknown permission "+quote(unknown[0])+"; valid permissions are "+validNames())
	default:
		return nil, errs.E(errs.Invalid, "authz.ParsePermissions",
			"unknown permissions "+quoteList(unknown)+"; valid permissions are "+validNames())
	}
}
