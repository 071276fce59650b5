package payloads

import (
	"slices"
	"testing"
)

func TestMessageGroupKey(t *testing.T) {
	key := MessageGroupKey("spring/sale", 40, 42)
	ids, ok := ParseMessageGroupKey(key)
	if key != "spring/sale/40-42" || !ok || !slices.Equal(ids, []string{"spring/sale/40", "spring/sale/41", "spring/sale/42"}) {
		t.Errorf("%q reads back as %v, %v", key, ids, ok)
	}
	for _, notAGroup := range []string{"evt_1", "msg_1/7", "msg_1/a-b", "msg_1/3-2", "msg_1/-1-2", "msg_1/01-2", "/1-2", "msg_1/1-2-3", "msg_1/0-99999"} {
		if ids, ok := ParseMessageGroupKey(notAGroup); ok {
			t.Errorf("%q reads as a group: %v", notAGroup, ids)
		}
	}
	if MessageEventID("msg_1", 7) != "msg_1/7" {
		t.Error("MessageEventID")
	}
}
