package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"
)

// readInput reads what a command takes from a file: the file at path, or standard input
// for "-". name is how errors name it (the path, or "standard input"). More than limit
// bytes is an error that ends in tooLarge, the advice for the user (such as "split it").
func readInput(cmd *cobra.Command, path string, limit int, tooLarge string) (data []byte, name string, err error) {
	var rd io.Reader
	name = path
	if path == "-" {
		rd, name = cmd.InOrStdin(), "standard input"
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, name, err
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil && st.IsDir() {
			return nil, name, fmt.Errorf("%s is a directory, not a file", path)
		}
		rd = f
	}
	data, err = io.ReadAll(io.LimitReader(rd, int64(limit)+1))
	if err != nil {
		return nil, name, fmt.Errorf("read %s: %w", name, err)
	}
	if len(data) > limit {
		return nil, name, fmt.Errorf("%s is larger than %s: %s", name, sizeText(limit), tooLarge)
	}
	return data, name, nil
}

// readValue reads a flag whose value is given inline, as @file, or as - for standard input.
func readValue(cmd *cobra.Command, flag, v string, limit int) ([]byte, error) {
	switch {
	case v == "-":
		data, _, err := readInput(cmd, "-", limit, "the limit of --"+flag)
		if err != nil {
			return nil, fmt.Errorf("--%s -: %w", flag, err)
		}
		return data, nil
	case strings.HasPrefix(v, "@"):
		data, _, err := readInput(cmd, v[1:], limit, "the limit of --"+flag)
		if err != nil {
			return nil, fmt.Errorf("--%s: %w", flag, err)
		}
		return data, nil
	}
	return []byte(v), nil
}

// sizeText is a byte count as a person would write it: 256 KiB, 32 MiB.
func sizeText(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// maxDocumentBytes bounds a file of distributions or webhooks (-f).
const maxDocumentBytes = 4 << 20

// readDocuments reads the YAML (or JSON) documents of -f FILE (- for standard input).
func readDocuments(cmd *cobra.Command, flag, file string) ([]map[string]any, error) {
	raw, _, err := readInput(cmd, file, maxDocumentBytes, "split it")
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", flag, file, err)
	}
	docs, err := yamlDocuments(raw)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", flag, file, err)
	}
	return docs, nil
}

// readDocument reads the one JSON or YAML document of --file FILE.
func readDocument(cmd *cobra.Command, file string) (map[string]any, error) {
	docs, err := readDocuments(cmd, "--file", file)
	if err != nil {
		return nil, err
	}
	if len(docs) != 1 {
		return nil, fmt.Errorf("--file %s: holds %d documents; use apply for several", file, len(docs))
	}
	return docs[0], nil
}

// yamlDocuments reads every document of a YAML stream (JSON is YAML too) as a JSON-shaped
// map whose numbers are json.Number, as the API client decodes them.
func yamlDocuments(raw []byte) ([]map[string]any, error) {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	var docs []map[string]any
	for n := 1; ; n++ {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %v", n, err)
		}
		if doc == nil {
			continue // an empty document, e.g. a trailing ---
		}
		// Through JSON once, so values are what the API reads (times become strings).
		b, err := json.Marshal(doc)
		if err != nil {
			return nil, fmt.Errorf("document %d: %v", n, err)
		}
		var clean map[string]any
		jd := json.NewDecoder(bytes.NewReader(b))
		jd.UseNumber()
		if err := jd.Decode(&clean); err != nil {
			return nil, fmt.Errorf("document %d: %v", n, err)
		}
		docs = append(docs, clean)
	}
	if len(docs) == 0 {
		return nil, errors.New("no documents")
	}
	return docs, nil
}
