// Package httpapi turns HTTP requests into calls on the domain packages and
// their results into JSON. It owns the one error shape
// {"error":{"code","message","details"}} and the one table from error kinds
// to HTTP statuses; an unexpected error becomes a 500 with a generic message
// and the request id, while its cause goes only to the redacting log.
package httpapi
