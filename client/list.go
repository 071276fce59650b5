package client

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
)

// MaxPageLimit is the largest limit the API takes on the lists it pages (the delivery log
// takes at most 500).
const MaxPageLimit = 1000

// List is one page of a list answer.
type List[T any] struct {
	Object string `json:"object"`
	Data   []T    `json:"data"`
	// Total counts Data, this page.
	Total int `json:"total"`
	// HasMore tells that the list goes on: NextPageToken reads the next page.
	HasMore       bool   `json:"has_more"`
	NextPageToken string `json:"next_page_token,omitempty"`
}

// ListOptions choose a page of a list: at most Limit items (0: the API's default, 100),
// after the page that answered PageToken ("" for the first page).
type ListOptions struct {
	Limit     int
	PageToken string
}

// GetPage reads one page of the list at path, with query (may be nil) and the page of o.
func GetPage[T any](ctx context.Context, c *Client, path string, query url.Values, o ListOptions) (*List[T], error) {
	q := url.Values{}
	for k, v := range query {
		q[k] = append([]string(nil), v...)
	}
	if o.Limit != 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.PageToken != "" {
		q.Set("page_token", o.PageToken)
	}
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var l List[T]
	if err := c.Do(ctx, http.MethodGet, path, nil, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// All iterates over every item of the list at path, from the page of o on, reading a
// page at a time (o.Limit items, 0 for the API's default) as the loop needs it. An error
// ends the iteration after it is yielded; so does a page that says it has more and gives
// back the token it was read with, or none.
func All[T any](ctx context.Context, c *Client, path string, query url.Values, o ListOptions) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		for {
			l, err := GetPage[T](ctx, c, path, query, o)
			if err != nil {
				yield(zero, err)
				return
			}
			for _, item := range l.Data {
				if !yield(item, nil) {
					return
				}
			}
			if !l.HasMore {
				return
			}
			if l.NextPageToken == "" || l.NextPageToken == o.PageToken {
				yield(zero, fmt.Errorf("GET %s: the page read with page_token %q has more and gives next_page_token %q: stopped", path, o.PageToken, l.NextPageToken))
				return
			}
			o.PageToken = l.NextPageToken
		}
	}
}
