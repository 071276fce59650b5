// Package codec is how hookflow's processes write payloads to Temporal: JSON exactly as
// given (converter.go), and, with a key, sealed with AES-256-GCM (this file). Every client
// of the same namespace must use the same converters.
package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

// Payload encryption. With a key configured, every payload hookflow's processes write to
// Temporal (workflow inputs and results, activity inputs and results, local activity
// markers, failure details with FailureConverterFor) is encrypted with AES-256-GCM before it leaves the process,
// and decrypted when it comes back. What stays readable in history is what Temporal itself
// needs: workflow ids, activity names, search attributes, failure messages, timestamps.
//
// An encrypted payload is the whole original payload (its metadata and data, as protobuf)
// sealed with a random 96-bit nonce, with these metadata:
//
//	encoding:          binary/encrypted
//	encryption-key-id: the id of the key that sealed it
//	encryption-cipher: AES256-GCM
//
// Its data is nonce || ciphertext || tag; the additional data binds the key id, so a
// payload relabelled with another key id does not open. The first configured key encrypts,
// all of them decrypt: to rotate, put a new key first and keep the old ones while
// histories sealed with them are kept (the namespace's retention).

// Metadata of an encrypted payload.
const (
	MetadataEncodingEncrypted = "binary/encrypted"
	MetadataEncryptionKeyID   = "encryption-key-id"
	MetadataEncryptionCipher  = "encryption-cipher"
	encryptionCipher          = "AES256-GCM"
)

// Key is one AES-256 key and the id that encrypted payloads name it by.
type Key struct {
	ID  string
	Key []byte
}

// String never shows the key material, so that a key printed by mistake stays secret.
func (k Key) String() string { return k.ID + ":<redacted>" }

// GoString, for %#v.
func (k Key) GoString() string { return k.String() }

var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// ParseKeys reads keys written as comma-separated id:base64 pairs, each of 32 bytes of key
// (standard or URL base64, padded or not), such as
// "2026-01:q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=". Each item of specs may itself
// hold several pairs; empty items are skipped. Errors begin with source, the setting the
// keys came from (a flag such as --encryption-key), and name the key's position and id,
// never its material.
func ParseKeys(source string, specs ...string) ([]Key, error) {
	var keys []Key
	seen := map[string]bool{}
	n := 0
	for _, spec := range specs {
		for _, item := range strings.Split(spec, ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			n++
			id, material, ok := strings.Cut(item, ":")
			id = strings.TrimSpace(id)
			if !ok || id == "" || strings.TrimSpace(material) == "" {
				return nil, fmt.Errorf("%s: key %d: want id:base64-of-32-bytes, such as 2026-01:$(openssl rand -base64 32)", source, n)
			}
			if !keyIDPattern.MatchString(id) {
				return nil, fmt.Errorf("%s: key %d: the id %q may hold only letters, digits, '_', '.' and '-' (at most 64)", source, n, id)
			}
			if seen[id] {
				return nil, fmt.Errorf("%s: key %d: the id %q is used twice; every key needs its own id", source, n, id)
			}
			seen[id] = true
			key, err := decodeKey(strings.TrimSpace(material))
			if err != nil {
				return nil, fmt.Errorf("%s: key %d (id %q): not base64: make one with openssl rand -base64 32", source, n, id)
			}
			if len(key) != 32 {
				return nil, fmt.Errorf("%s: key %d (id %q): %d bytes, want 32 (AES-256): make one with openssl rand -base64 32", source, n, id, len(key))
			}
			keys = append(keys, Key{ID: id, Key: key})
		}
	}
	return keys, nil
}

func decodeKey(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

// Codec is a converter.PayloadCodec that encrypts payloads with AES-256-GCM.
type Codec struct {
	keys  []codecKey // keys[0] encrypts
	byID  map[string]cipher.AEAD
	names []string
}

type codecKey struct {
	id   string
	aead cipher.AEAD
}

var _ converter.PayloadCodec = (*Codec)(nil)

// New is a codec that encrypts with keys[0] and decrypts with any of keys.
func New(keys ...Key) (*Codec, error) {
	if len(keys) == 0 {
		return nil, errors.New("no encryption key")
	}
	c := &Codec{byID: map[string]cipher.AEAD{}}
	for i, k := range keys {
		if !keyIDPattern.MatchString(k.ID) {
			return nil, fmt.Errorf("key %d: the id %q may hold only letters, digits, '_', '.' and '-' (at most 64)", i+1, k.ID)
		}
		if _, dup := c.byID[k.ID]; dup {
			return nil, fmt.Errorf("key %d: the id %q is used twice; every key needs its own id", i+1, k.ID)
		}
		if len(k.Key) != 32 {
			return nil, fmt.Errorf("key %d (id %q): %d bytes, want 32 (AES-256)", i+1, k.ID, len(k.Key))
		}
		block, err := aes.NewCipher(k.Key)
		if err != nil {
			return nil, fmt.Errorf("key %d (id %q): %w", i+1, k.ID, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("key %d (id %q): %w", i+1, k.ID, err)
		}
		c.keys = append(c.keys, codecKey{id: k.ID, aead: aead})
		c.byID[k.ID] = aead
		c.names = append(c.names, k.ID)
	}
	return c, nil
}

// KeyIDs are the ids of the codec's keys, the encrypting one first.
func (c *Codec) KeyIDs() []string { return append([]string(nil), c.names...) }

// ErrUnknownKey is returned for a payload encrypted with a key the codec does not have.
var ErrUnknownKey = errors.New("encrypted with a key that is not configured")

// ErrDecrypt is returned for a payload that does not open: altered, or sealed by another
// key under the same id.
var ErrDecrypt = errors.New("cannot decrypt payload")

func additionalData(keyID string) []byte { return []byte("hookflow-payload/v1:" + keyID) }

// Encode encrypts each payload with the first key.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	k := c.keys[0]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return payloads, fmt.Errorf("encrypt payload: %w", err)
		}
		nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plain)+k.aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return payloads, fmt.Errorf("encrypt payload: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(MetadataEncodingEncrypted),
				MetadataEncryptionKeyID:    []byte(k.id),
				MetadataEncryptionCipher:   []byte(encryptionCipher),
			},
			Data: k.aead.Seal(nonce, nonce, plain, additionalData(k.id)),
		}
	}
	return out, nil
}

// Decode decrypts each encrypted payload with the key it names. A payload that is not
// encrypted (written before encryption was turned on) is returned as it is.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != MetadataEncodingEncrypted {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataEncryptionKeyID])
		aead, ok := c.byID[id]
		if !ok {
			return payloads, fmt.Errorf("%w: the payload names key %q; the keys configured are %s", ErrUnknownKey, id, strings.Join(c.names, ", "))
		}
		data := p.GetData()
		if len(data) < aead.NonceSize()+aead.Overhead() {
			return payloads, fmt.Errorf("%w with key %q: it is too short to be one", ErrDecrypt, id)
		}
		plain, err := aead.Open(nil, data[:aead.NonceSize()], data[aead.NonceSize():], additionalData(id))
		if err != nil {
			return payloads, fmt.Errorf("%w with key %q: it was altered, or sealed by another key of that id", ErrDecrypt, id)
		}
		var orig commonpb.Payload
		if err := proto.Unmarshal(plain, &orig); err != nil {
			return payloads, fmt.Errorf("%w with key %q: %v", ErrDecrypt, id, err)
		}
		out[i] = &orig
	}
	return out, nil
}

// NewDataConverter is DataConverter, encrypting with keys when there are any.
func NewDataConverter(keys ...Key) (converter.DataConverter, error) {
	if len(keys) == 0 {
		return DataConverter, nil
	}
	c, err := New(keys...)
	if err != nil {
		return nil, err
	}
	return DataConverterFor(c), nil
}

// DataConverterFor is DataConverter with codec applied to every payload; DataConverter
// itself when codec is nil.
func DataConverterFor(codec converter.PayloadCodec) converter.DataConverter {
	if codec == nil || codec == (*Codec)(nil) {
		return DataConverter
	}
	return converter.MakeTransferAware(converter.NewCodecDataConverter(payloadConverter, codec))
}

// FailureConverterFor is the failure converter to use with DataConverterFor(codec): the
// SDK's default writes failure details (a failed attempt's answer, and with it the
// request and its body) with the default data converter, that is in clear. This one
// writes them with the codec; failure messages stay readable (see the package's notes on
// encryption). Nil, the SDK's default, when codec is nil.
func FailureConverterFor(codec converter.PayloadCodec) converter.FailureConverter {
	if codec == nil || codec == (*Codec)(nil) {
		return nil
	}
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{DataConverter: DataConverterFor(codec)})
}
