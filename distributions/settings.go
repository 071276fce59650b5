package distributions

import (
	"fmt"
	"net/mail"
)

// NotificationSettings are the installation's settings for failure notifications, one set
// for distribution webhooks and one for project webhooks. A distribution's own
// notifications add to them.
type NotificationSettings struct {
	Distributions ChannelSettings `json:"distributions"`
	Webhooks      ChannelSettings `json:"webhooks"`
}

// ChannelSettings say how the operator hears of a failed delivery.
type ChannelSettings struct {
	Email      bool     `json:"email"`
	Recipients []string `json:"recipients"`
	InApp      bool     `json:"in_app"`
}

// DefaultNotificationSettings: in-app on, e-mail off (there is no recipient yet).
func DefaultNotificationSettings() NotificationSettings {
	on := ChannelSettings{InApp: true, Recipients: []string{}}
	return NotificationSettings{Distributions: on, Webhooks: on}
}

// DecodeNotificationSettings reads settings from JSON, strictly.
func DecodeNotificationSettings(body []byte) (NotificationSettings, error) {
	s := DefaultNotificationSettings()
	return s, decodeStrict(body, &s)
}

// Validate lists every problem of the settings.
func (s NotificationSettings) Validate() error {
	var ps problems
	for name, c := range map[string]ChannelSettings{"distributions": s.Distributions, "webhooks": s.Webhooks} {
		if len(c.Recipients) > MaxEmails {
			ps.add(name+".recipients", "at most %d addresses", MaxEmails)
		}
		for i, e := range c.Recipients {
			if a, err := mail.ParseAddress(e); err != nil || a.Address != e {
				ps.add(fmt.Sprintf("%s.recipients[%d]", name, i), "%q is not an e-mail address such as ops@example.com", e)
			}
		}
		if c.Email && len(c.Recipients) == 0 {
			ps.add(name+".recipients", "e-mail is on but no recipient is given")
		}
	}
	return ps.err()
}
