package httpapi

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/records"
)

func (a *api) createCollection(w http.ResponseWriter, r *http.Request) {
	var spec records.CollectionSpec
	if err := decode(r, &spec); err != nil {
		a.fail(w, r, err)
		return
	}
	c, err := a.records.CreateCollection(r.Context(), authOf(r.Context()).Principal, spec)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, c)
}

func (a *api) listCollections(w http.ResponseWriter, r *http.Request) {
	cs, err := a.records.ListCollections(r.Context(), authOf(r.Context()).Principal)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if cs == nil {
		cs = []records.Collection{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": cs})
}

func (a *api) getCollection(w http.ResponseWriter, r *http.Request) {
	c, err := a.records.GetCollection(r.Context(), authOf(r.Context()).Principal, r.PathValue("name"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (a *api) deleteCollection(w http.ResponseWriter, r *http.Request) {
	if err := a.records.DeleteCollection(r.Context(), authOf(r.Context()).Principal, r.PathValue("name")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// rawBody reads a record body: any JSON (the records service checks it is
// one object within its size limit).
func rawBody(r *http.Request) (json.RawMessage, error) {
	ct := r.Header.Get("Content-Type")
	if ct != "" && !strings.HasPrefix(ct, "application/json") && !strings.HasPrefix(ct, "application/merge-patch+json") {
		return nil, errs.E(errs.Invalid, "httpapi.rawBody", "request body must be application/json")
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, errs.E(errs.Invalid, "httpapi.rawBody", "request body is too large or could not be read")
	}
	if len(b) == 0 {
		return nil, errs.E(errs.Invalid, "httpapi.rawBody", "request body is empty; a JSON object is required")
	}
	return b, nil
}

// ifMatch reads the If-Match header as a record version ("3", "\"3\"" or
// W/"3"); absent means unconditional (0).
func ifMatch(r *http.Request) (int64, error) {
	v := strings.TrimSpace(r.Header.Get("If-Match"))
	if v == "" {
		return 0, nil
	}
	v = strings.Trim(strings.TrimPrefix(v, "W/"), `"`)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, errs.E(errs.Invalid, "httpapi.ifMatch", "If-Match must be a record version (the ETag of a previous read)")
	}
	return n, nil
}

func writeRecord(w http.ResponseWriter, status int, rec records.Record) {
	w.Header().Set("ETag", `"`+strconv.FormatInt(rec.Version, 10)+`"`)
	writeJSON(w, status, rec)
}

func (a *api) createRecord(w http.ResponseWriter, r *http.Request) {
	body, err := rawBody(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	rec, err := a.records.Create(r.Context(), authOf(r.Context()).Principal, r.PathValue("name"), body)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeRecord(w, http.StatusCreated, rec)
}

func (a *api) getRecord(w http.ResponseWriter, r *http.Request) {
	rec, err := a.records.Get(r.Context(), authOf(r.Context()).Principal, r.PathValue("name"), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeRecord(w, http.StatusOK, rec)
}

func (a *api) replaceRecord(w http.ResponseWriter, r *http.Request) {
	a.updateRecord(w, r, false)
}

func (a *api) patchRecord(w http.ResponseWriter, r *http.Request) {
	a.updateRecord(w, r, true)
}

func (a *api) updateRecord(w http.ResponseWriter, r *http.Request, patch bool) {
	version, err := ifMatch(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	body, err := rawBody(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	p := authOf(r.Context()).Principal
	var rec records.Record
	if patch {
		rec, err = a.records.Patch(r.Context(), p, r.PathValue("name"), r.PathValue("id"), body, version)
	} else {
		rec, err = a.records.Replace(r.Context(), p, r.PathValue("name"), r.PathValue("id"), body, version)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeRecord(w, http.StatusOK, rec)
}

func (a *api) deleteRecord(w http.ResponseWriter, r *http.Request) {
	version, err := ifMatch(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.records.Delete(r.Context(), authOf(r.Context()).Principal, r.PathValue("name"), r.PathValue("id"), version); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// listRecords reads limit, cursor and where[field]=value filters.
func (a *api) listRecords(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	opts := records.ListOptions{Cursor: q.Get("cursor"), Where: map[string]string{}}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > records.MaxLimit {
			a.fail(w, r, errs.E(errs.Invalid, "httpapi.listRecords", "limit: must be a number from 1 to "+strconv.Itoa(records.MaxLimit)))
			return
		}
		opts.Limit = n
	}
	for k, vs := range q {
		field, ok := strings.CutPrefix(k, "where[")
		if !ok {
			continue
		}
		field, ok = strings.CutSuffix(field, "]")
		if !ok || field == "" || len(vs) != 1 {
			a.fail(w, r, errs.E(errs.Invalid, "httpapi.listRecords", "filters are where[field]=value, once per field"))
			return
		}
		opts.Where[field] = vs[0]
	}
	page, err := a.records.List(r.Context(), authOf(r.Context()).Principal, r.PathValue("name"), opts)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if page.Items == nil {
		page.Items = []records.Record{}
	}
	writeJSON(w, http.StatusOK, page)
}
