package distributions

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hookflow/hookflow/payloads"
)

// Programs whose notifications a preset sets up (spec section 7).
const (
	ProgramLoyalty  = "loyalty"
	ProgramReferral = "referral"
)

// CheckProgram says, when program is not one hookflow knows, which was meant: an error
// such as `no program "loyal": did you mean loyalty? The programs are loyalty and
// referral`; nil for a known one.
func CheckProgram(program string) error {
	if _, ok := ProgramNotifications[program]; ok {
		return nil
	}
	if near := payloads.Nearest(program, []string{ProgramLoyalty, ProgramReferral}, 1); len(near) > 0 {
		return fmt.Errorf("no program %q: did you mean %s? The programs are %s and %s", program, near[0], ProgramLoyalty, ProgramReferral)
	}
	return fmt.Errorf("no program %q: the programs are %s and %s", program, ProgramLoyalty, ProgramReferral)
}

// Labels a program preset puts on the distributions it makes. Together they name one
// preset distribution, so running a preset again updates it instead of adding another.
const (
	LabelProgram      = "program"
	LabelCampaign     = "campaign"
	LabelNotification = "notification"
	LabelRecipient    = "recipient"
)

// RecipientBoth asks a referral preset for the referrer's and the referee's notifications.
const RecipientBoth = "both"

// ProgramNotification is one notification a program offers: the events that trigger it and
// who can receive it.
type ProgramNotification struct {
	Name      string   `json:"name"`
	Title     string   `json:"title"`
	Events    []string `json:"events"`
	EventName string   `json:"event_name"`
	// Recipients are the referral sides it can be about; none for loyalty.
	Recipients []string `json:"recipients,omitempty"`
}

// ProgramNotifications are the notifications of each program, in the order presets make
// them.
var ProgramNotifications = map[string][]ProgramNotification{
	ProgramLoyalty: {
		{Name: "card-published", Title: "loyalty card published", Events: []string{"customer.publication.succeeded"}, EventName: "Loyalty-card-published"},
		// Manual point adjustments arrive as points_added, earning rules as rewarded.loyalty_points.
		{Name: "points-added", Title: "points added", Events: []string{"customer.rewarded.loyalty_points", "customer.voucher.loyalty_card.points_added"}, EventName: "Loyalty-points-added"},
		{Name: "reward-redeemed", Title: "reward redeemed", Events: []string{"customer.reward_redemptions.completed"}, EventName: "Loyalty-reward-redeemed"},
	},
	ProgramReferral: {
		{Name: "code-published", Title: "referral code published", Events: []string{"customer.publication.succeeded"}, EventName: "Referral-code-published", Recipients: []string{RecipientReferrer}},
		{Name: "referrer-rewarded", Title: "referrer rewarded", Events: []string{"customer.rewarded"}, EventName: "Referral-referrer-rewarded", Recipients: []string{RecipientReferrer}},
		{Name: "referee-joined", Title: "referee joined", Events: []string{"customer.referred"}, EventName: "Referral-referee-joined", Recipients: []string{RecipientReferrer, RecipientReferee}},
	},
}

// ProgramRequest asks for the notifications of one program for one campaign.
type ProgramRequest struct {
	Campaign string `json:"campaign"`
	URL      string `json:"url"`
	// Notify names the notifications to make (ProgramNotification.Name); all when empty.
	Notify []string `json:"notify,omitempty"`
	// Recipient is referrer (the default), referee or both; referral programs only.
	Recipient string `json:"recipient,omitempty"`
	// Status is live (the default) or draft.
	Status        string        `json:"status,omitempty"`
	Version       string        `json:"version,omitempty"`
	Headers       []Header      `json:"headers,omitempty"`
	Notifications Notifications `json:"notifications,omitempty"`
}

// DecodeProgramRequest reads a program request from JSON, rejecting unknown fields.
func DecodeProgramRequest(body []byte) (ProgramRequest, error) {
	var r ProgramRequest
	return r, decodeStrict(body, &r)
}

// Build returns the distributions that program's preset makes for r, normalized and
// valid, without ids; or a *ValidationError naming the request's fields.
func (r ProgramRequest) Build(program string) ([]Distribution, error) {
	offered, ok := ProgramNotifications[program]
	if !ok {
		return nil, &ValidationError{[]Problem{{"program", fmt.Sprintf("%q is not one of loyalty, referral", program)}}}
	}
	var ps problems
	switch {
	case r.Campaign == "":
		ps.add("campaign", "is required: the id of the %s campaign", program)
	case checkID(r.Campaign) != "":
		ps.add("campaign", "%s", checkID(r.Campaign))
	}
	if r.URL == "" {
		ps.add("url", "is required: where the notifications are sent")
	}
	switch r.Status {
	case "", StatusLive, StatusDraft:
	default:
		ps.add("status", "%q is not one of live, draft", r.Status)
	}
	recipients := []string{""}
	if program == ProgramReferral {
		switch r.Recipient {
		case "", RecipientReferrer:
			recipients = []string{RecipientReferrer}
		case RecipientReferee:
			recipients = []string{RecipientReferee}
		case RecipientBoth:
			recipients = []string{RecipientReferrer, RecipientReferee}
		default:
			ps.add("recipient", "%q is not one of referrer, referee, both", r.Recipient)
		}
	} else if r.Recipient != "" {
		ps.add("recipient", "only referral programs have recipients")
	}
	chosen := offered
	if len(r.Notify) > 0 {
		chosen = nil
		seen := map[string]bool{}
		for i, name := range r.Notify {
			n, found := findNotification(offered, name)
			switch {
			case !found:
				ps.add(fmt.Sprintf("notify[%d]", i), "%q is not one of %s", name, notificationNames(offered))
			case seen[name]:
				ps.add(fmt.Sprintf("notify[%d]", i), "%q is listed twice", name)
			default:
				seen[name] = true
				chosen = append(chosen, n)
			}
		}
	}
	if err := ps.err(); err != nil {
		return nil, err
	}

	var out []Distribution
	for i, n := range chosen {
		made := 0
		for _, rcpt := range recipients {
			if rcpt != "" && !contains(n.Recipients, rcpt) {
				continue
			}
			out = append(out, r.distribution(program, n, rcpt))
			made++
		}
		if made == 0 && len(r.Notify) > 0 {
			ps.add(fmt.Sprintf("notify[%d]", i), "%s goes to the %s only, not the %s", n.Name, strings.Join(n.Recipients, " and the "), r.Recipient)
		}
	}
	if len(out) == 0 && len(ps) == 0 {
		ps.add("recipient", "none of the notifications goes to the %s", r.Recipient)
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	// Each distribution is checked as any other; a problem is reported at the request's
	// field it came from.
	for _, d := range out {
		if err := d.Validate(); err != nil {
			return nil, programProblems(err)
		}
	}
	return out, nil
}

func (r ProgramRequest) distribution(program string, n ProgramNotification, recipient string) Distribution {
	title := n.Title
	if recipient != "" && len(n.Recipients) > 1 {
		title += ", to the " + recipient
	}
	d := Distribution{
		Name:   fmt.Sprintf("%s %s: %s", titleCase(program), r.Campaign, title),
		Status: r.Status,
		Labels: map[string]string{LabelProgram: program, LabelCampaign: r.Campaign, LabelNotification: n.Name},
		Trigger: Trigger{
			Events:    append([]string(nil), n.Events...),
			Campaign:  r.Campaign,
			Recipient: recipient,
		},
		Webhook: Webhook{
			EventName: n.EventName,
			URL:       r.URL,
			Version:   r.Version,
			Headers:   append([]Header(nil), r.Headers...),
		},
		Notifications: r.Notifications,
	}
	if recipient != "" {
		d.Labels[LabelRecipient] = recipient
	}
	d.Normalize()
	return d
}

// programProblems moves a distribution's problems to the request fields they came from.
func programProblems(err error) error {
	ve, ok := err.(*ValidationError)
	if !ok {
		return err
	}
	fields := map[string]string{"webhook.url": "url", "webhook.version": "version", "trigger.campaign": "campaign"}
	out := &ValidationError{}
	for _, p := range ve.Problems {
		switch {
		case fields[p.Field] != "":
			p.Field = fields[p.Field]
		case strings.HasPrefix(p.Field, "webhook.headers"):
			p.Field = strings.TrimPrefix(p.Field, "webhook.")
		}
		out.Problems = append(out.Problems, p)
	}
	return out
}

// PresetKey is what names a preset distribution among the others: its program, campaign,
// notification and recipient labels. ok is false for a distribution no preset made.
func PresetKey(d Distribution) (key string, ok bool) {
	if d.Labels[LabelProgram] == "" || d.Labels[LabelNotification] == "" {
		return "", false
	}
	return strings.Join([]string{d.Labels[LabelProgram], d.Labels[LabelCampaign], d.Labels[LabelNotification], d.Labels[LabelRecipient]}, "\x00"), true
}

// Program is one program's notifications for one campaign, as the presets made them.
type Program struct {
	Program  string `json:"program"`
	Campaign string `json:"campaign"`
	// Status is live or paused when every distribution has it, mixed otherwise.
	Status        string          `json:"status"`
	Distributions []ProgramMember `json:"distributions"`
}

// ProgramMember is one distribution of a program.
type ProgramMember struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Notification string `json:"notification"`
	Recipient    string `json:"recipient,omitempty"`
	Status       string `json:"status"`
	URL          string `json:"url"`
}

// Programs groups the distributions that presets made by program and campaign, ordered
// by program and campaign.
func Programs(ds []Distribution) []Program {
	byKey := map[[2]string]*Program{}
	var keys [][2]string
	for _, d := range ds {
		if _, ok := PresetKey(d); !ok {
			continue
		}
		k := [2]string{d.Labels[LabelProgram], d.Labels[LabelCampaign]}
		p := byKey[k]
		if p == nil {
			p = &Program{Program: k[0], Campaign: k[1], Status: d.Status}
			byKey[k] = p
			keys = append(keys, k)
		}
		if p.Status != d.Status {
			p.Status = "mixed"
		}
		p.Distributions = append(p.Distributions, ProgramMember{
			ID: d.ID, Name: d.Name, Notification: d.Labels[LabelNotification],
			Recipient: d.Labels[LabelRecipient], Status: d.Status, URL: d.Webhook.URL,
		})
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
	out := make([]Program, len(keys))
	for i, k := range keys {
		out[i] = *byKey[k]
	}
	return out
}

func findNotification(ns []ProgramNotification, name string) (ProgramNotification, bool) {
	for _, n := range ns {
		if n.Name == name {
			return n, true
		}
	}
	return ProgramNotification{}, false
}

func notificationNames(ns []ProgramNotification) string {
	names := make([]string, len(ns))
	for i, n := range ns {
		names[i] = n.Name
	}
	return strings.Join(names, ", ")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
