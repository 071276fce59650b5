package api

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/store"
)

// The campaigns' code pools, which publish_code distributions take codes from: import codes
// into a pool (as text, CSV or JSON), and count what it holds and what is left.

// Limits on a code import.
const (
	// MaxCodesBytes bounds the body of one import.
	MaxCodesBytes = 32 << 20
	// MaxCodesPerImport bounds the codes of one import; larger pools take several.
	MaxCodesPerImport = 1_000_000
	// MaxCodeLength bounds one code, in characters.
	MaxCodeLength = 100
	// maxCampaignIDLength bounds a campaign id, as distributions do.
	maxCampaignIDLength = 128
)

// ImportedCodes is the answer to an import.
type ImportedCodes struct {
	Added      int             `json:"added"`
	Duplicates int             `json:"duplicates"`
	Stats      store.CodeStats `json:"stats"`
}

// codeError is a refused code or line: the message names the line (or the JSON index).
type codeError struct {
	status int
	field  string
	msg    string
}

// campaignFromPath checks the campaign id of the path, answering 400 itself.
func campaignFromPath(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("id")
	msg := ""
	switch {
	case len(id) > maxCampaignIDLength:
		msg = fmt.Sprintf("the campaign id is longer than %d characters", maxCampaignIDLength)
	case !utf8.ValidString(id) || strings.ContainsFunc(id, func(r rune) bool { return r <= ' ' || r == 0x7f || unicode.IsSpace(r) || unicode.IsControl(r) }):
		msg = "the campaign id must not contain whitespace or control characters"
	}
	if msg != "" {
		writeError(w, http.StatusBadRequest, "invalid_request", msg, "id")
		return "", false
	}
	return id, true
}

// importCodes adds codes to a campaign's pool. The body is text/plain (one code a line;
// blank lines are skipped), text/csv (a header row with a "code" column) or
// application/json ({"codes": ["...", ...]}). Every code is checked before any is stored:
// one bad line refuses the whole import, naming the line.
func (s *Server) importCodes(w http.ResponseWriter, r *http.Request) {
	campaign, ok := campaignFromPath(w, r)
	if !ok {
		return
	}
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("content-type"))
	if err != nil {
		mediaType = ""
	}
	var parse func([]byte) ([]string, *codeError)
	switch mediaType {
	case "text/plain":
		parse = parseCodeLines
	case "text/csv":
		parse = parseCodeCSV
	case "application/json":
		parse = parseCodeJSON
	default:
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type",
			fmt.Sprintf("content-type %q: send text/plain (one code a line), text/csv (with a code column) or application/json ({\"codes\": [...]})", r.Header.Get("content-type")), "")
		return
	}
	body, ok := readBody(w, r, MaxCodesBytes)
	if !ok {
		return
	}
	codes, cerr := parse(body)
	if cerr == nil && len(codes) == 0 {
		cerr = &codeError{http.StatusUnprocessableEntity, "codes", "no codes: the body holds none"}
	}
	if cerr != nil {
		typ := "validation_error"
		switch cerr.status {
		case http.StatusBadRequest:
			typ = "invalid_request"
		case http.StatusRequestEntityTooLarge:
			typ = "too_large"
		}
		writeError(w, cerr.status, typ, cerr.msg, cerr.field)
		return
	}
	res, err := s.Store.ImportCodes(r.Context(), campaign, codes, s.now())
	if err != nil {
		s.internal(w, "import codes", err)
		return
	}
	stats, err := s.Store.CodeStats(r.Context(), campaign)
	if err != nil {
		s.internal(w, "count codes", err)
		return
	}
	s.logger().Info("codes imported", "campaign", campaign, "added", res.Added, "duplicates", res.Duplicates, "by", requester(r))
	writeJSON(w, http.StatusOK, ImportedCodes{Added: res.Added, Duplicates: res.Duplicates, Stats: stats})
}

func (s *Server) codeStats(w http.ResponseWriter, r *http.Request) {
	campaign, ok := campaignFromPath(w, r)
	if !ok {
		return
	}
	stats, err := s.Store.CodeStats(r.Context(), campaign)
	if err != nil {
		s.internal(w, "count codes", err)
		return
	}
	writeJSON(w, http.StatusOK, stats)
}

// checkCode says what is wrong with a code, or "".
func checkCode(c string) string {
	switch {
	case c == "":
		return "is empty"
	case !utf8.ValidString(c):
		return "is not valid UTF-8"
	case utf8.RuneCountInString(c) > MaxCodeLength:
		return fmt.Sprintf("is longer than %d characters", MaxCodeLength)
	}
	for _, r := range c {
		switch {
		case unicode.IsSpace(r):
			return fmt.Sprintf("contains whitespace (%U)", r)
		case !unicode.IsPrint(r):
			return fmt.Sprintf("contains a control or unprintable character (%U)", r)
		}
	}
	return ""
}

// quoteCode shows a refused code in a message, cut short.
func quoteCodeForError(c string) string {
	if len(c) > 40 {
		c = strings.ToValidUTF8(c[:40], "") + "…"
	}
	return fmt.Sprintf("%q", c)
}

func tooManyCodes() *codeError {
	return &codeError{http.StatusRequestEntityTooLarge, "codes", fmt.Sprintf("more than %d codes in one import: split the file", MaxCodesPerImport)}
}

// parseCodeLines reads one code a line. Surrounding spaces and CRLF endings are dropped and
// blank lines skipped; a code itself has no whitespace.
func parseCodeLines(body []byte) ([]string, *codeError) {
	body = bytes.TrimPrefix(body, []byte("\ufeff"))
	var codes []string
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), MaxCodesBytes)
	line := 0
	for sc.Scan() {
		line++
		c := strings.TrimSpace(sc.Text())
		if c == "" {
			continue
		}
		if msg := checkCode(c); msg != "" {
			return nil, &codeError{http.StatusUnprocessableEntity, "codes", fmt.Sprintf("line %d: the code %s %s", line, quoteCodeForError(c), msg)}
		}
		if len(codes) == MaxCodesPerImport {
			return nil, tooManyCodes()
		}
		codes = append(codes, c)
	}
	if err := sc.Err(); err != nil {
		return nil, &codeError{http.StatusBadRequest, "", fmt.Sprintf("line %d: %v", line+1, err)}
	}
	return codes, nil
}

// parseCodeCSV reads CSV whose header row names a "code" column; other columns are
// ignored.
func parseCodeCSV(body []byte) ([]string, *codeError) {
	body = bytes.TrimPrefix(body, []byte("\ufeff"))
	rd := csv.NewReader(bytes.NewReader(body))
	rd.ReuseRecord = true
	header, err := rd.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil
	}
	if err != nil {
		return nil, codesCSVError(err)
	}
	col := -1
	for i, name := range header {
		if strings.EqualFold(strings.TrimSpace(name), "code") {
			col = i
			break
		}
	}
	if col < 0 {
		return nil, &codeError{http.StatusUnprocessableEntity, "codes", "line 1: the CSV header has no code column (want a first row such as code,note)"}
	}
	var codes []string
	for {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			return codes, nil
		}
		if err != nil {
			return nil, codesCSVError(err)
		}
		// The code's own line: an earlier quoted field may span lines.
		line, _ := rd.FieldPos(col)
		c := strings.TrimSpace(rec[col])
		if msg := checkCode(c); msg != "" {
			return nil, &codeError{http.StatusUnprocessableEntity, "codes", fmt.Sprintf("line %d: the code %s %s", line, quoteCodeForError(c), msg)}
		}
		if len(codes) == MaxCodesPerImport {
			return nil, tooManyCodes()
		}
		codes = append(codes, c)
	}
}

func codesCSVError(err error) *codeError {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &codeError{http.StatusBadRequest, "", fmt.Sprintf("line %d: not valid CSV: %v", pe.Line, pe.Err)}
	}
	return &codeError{http.StatusBadRequest, "", "not valid CSV: " + err.Error()}
}

// parseCodeJSON reads {"codes": ["...", ...]}, one code at a time, so that a body of many
// tiny values stops at the limit instead of filling memory first.
func parseCodeJSON(body []byte) ([]string, *codeError) {
	const want = `want {"codes": ["CODE-1", ...]}`
	bad := func(msg string) ([]string, *codeError) {
		return nil, &codeError{http.StatusBadRequest, "", want + ": " + msg}
	}
	badErr := func(err error) ([]string, *codeError) {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF // Token's end of input inside the object
		}
		if msg, ok := payloads.JSONSyntaxError(body, err); ok {
			return bad(msg)
		}
		return bad(err.Error())
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return bad("the body is not a JSON object")
	}
	var codes []string
	seen := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return badErr(err)
		}
		if key, _ := tok.(string); key != "codes" {
			return nil, &codeError{http.StatusBadRequest, fmt.Sprint(tok), fmt.Sprintf("%s: unknown field %q", want, tok)}
		}
		if seen {
			return bad(`"codes" is given twice`)
		}
		seen = true
		if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
			return nil, &codeError{http.StatusBadRequest, "codes", want + ": codes must be an array of strings"}
		}
		for i := 0; dec.More(); i++ {
			field := fmt.Sprintf("codes[%d]", i)
			if i == MaxCodesPerImport {
				return nil, tooManyCodes()
			}
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return badErr(err)
			}
			// encoding/json would turn invalid UTF-8 into U+FFFD, storing another code than
			// the one sent; the text and CSV imports refuse it, and so does this one.
			if !utf8.Valid(raw) {
				return nil, &codeError{http.StatusUnprocessableEntity, field, fmt.Sprintf("%s: the code is not valid UTF-8", field)}
			}
			var c string
			if json.Unmarshal(raw, &c) != nil {
				return nil, &codeError{http.StatusUnprocessableEntity, field, fmt.Sprintf("%s: %s is not a string", field, quoteCodeForError(string(raw)))}
			}
			if msg := checkCode(c); msg != "" {
				return nil, &codeError{http.StatusUnprocessableEntity, field, fmt.Sprintf("%s: the code %s %s", field, quoteCodeForError(c), msg)}
			}
			codes = append(codes, c)
		}
		if _, err := dec.Token(); err != nil { // ]
			return badErr(err)
		}
	}
	if _, err := dec.Token(); err != nil { // }
		return badErr(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return bad("more follows the object")
	}
	return codes, nil
}
