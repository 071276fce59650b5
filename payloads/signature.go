package payloads

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SecretPrefix starts every webhook signing secret.
const SecretPrefix = "whsec_"

// NewSecret makes a signing secret: whsec_ and the base64 of 32 random bytes.
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// NewID makes a random id with a prefix such as "evt_" or "distr_".
func NewID(prefix string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// VoucherifySignature is the x-voucherify-signature of body: lowercase hex HMAC-SHA256 keyed
// with the whole secret string.
func VoucherifySignature(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// StandardSignature is one Standard Webhooks signature, "v1,<base64>", over
// "id.timestamp.body", keyed with the base64-decoded part of a whsec_ secret.
func StandardSignature(secret, id string, timestamp int64, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil {
		return "", fmt.Errorf("signing secret is not whsec_<base64>: %w", err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write([]byte(strconv.FormatInt(timestamp, 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// SignHeaders sets the signature headers of one attempt. secrets[0] is the current secret;
// any others are still valid during a rotation and sign webhook-signature too.
func SignHeaders(h http.Header, secrets []string, deliveryID string, at time.Time, body []byte) error {
	if len(secrets) == 0 {
		return fmt.Errorf("no signing secret")
	}
	ts := at.Unix()
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		sig, err := StandardSignature(s, deliveryID, ts, body)
		if err != nil {
			return err
		}
		sigs = append(sigs, sig)
	}
	// The names are written in canonical form, as Set stores them anyway (the wire is
	// case-insensitive): a canonical name spares Set an allocation per header.
	h.Set("X-Voucherify-Signature", VoucherifySignature(secrets[0], body))
	h.Set("Webhook-Id", deliveryID)
	h.Set("Webhook-Timestamp", strconv.FormatInt(ts, 10))
	h.Set("Webhook-Signature", strings.Join(sigs, " "))
	return nil
}
