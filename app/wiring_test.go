package app

import "testing"

func TestRedactURL(t *testing.T) {
	tests := map[string]string{
		"postgres://hook:s3cret@db:5432/hookflow":         "postgres://hook:xxxxx@db:5432/hookflow",
		"host=db user=hook password=s3cret dbname=h":      "host=db user=hook password=xxxxx dbname=h",
		"host=db password='s3 cret' dbname=h":             "host=db password=xxxxx dbname=h",
		"/home/me/.local/share/hookflow/hookflow.db":      "/home/me/.local/share/hookflow/hookflow.db",
		"postgres://postgres@127.0.0.1/postgres?ssl=none": "postgres://postgres@127.0.0.1/postgres?ssl=none",
	}
	for in, want := range tests {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
