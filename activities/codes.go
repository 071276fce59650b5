package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/store"
)

// Error types of PublishCode that the workflow reads: both are final, the delivery fails.
const (
	// ErrTypePoolEmpty: the campaign's pool has no unpublished code left.
	ErrTypePoolEmpty = "CodePoolEmpty"
	// ErrTypeBadPublication: the input lacks what a publication needs (a customer).
	ErrTypeBadPublication = "BadPublication"
)

// PublishCodeInput is what PublishCode publishes for. The activity takes its fields as
// separate arguments of standard types: a local activity gets the workflow's Go values as
// they are, not through JSON, and the workflow may not import this package's types.
type PublishCodeInput struct {
	EventID        string
	DistributionID string
	CustomerID     string
	// Campaign is the distribution's action.campaign object: its id names the pool, it
	// comes back as the payload's campaign, and its name (when it has one) goes into the
	// voucher.
	Campaign json.RawMessage
}

// PublishedCode are the objects a publish_code action adds to the payload, compact JSON.
type PublishedCode struct {
	Campaign    json.RawMessage `json:"campaign"`
	Voucher     json.RawMessage `json:"voucher"`
	Publication json.RawMessage `json:"publication"`
}

// publishedVoucher is what hookflow knows of a published code: no type, discount or
// validity, which live in the system that made the codes.
type publishedVoucher struct {
	Object     string `json:"object"`
	Code       string `json:"code"`
	Campaign   string `json:"campaign,omitempty"`
	CampaignID string `json:"campaign_id"`
}

type publicationObject struct {
	ID         string `json:"id"`
	Object     string `json:"object"`
	CreatedAt  string `json:"created_at"`
	CustomerID string `json:"customer_id"`
	Voucher    struct {
		Code string `json:"code"`
	} `json:"voucher"`
	Result string `json:"result"`
}

// PublishCode publishes one code of the campaign's pool to the customer, exactly once per
// (event, distribution, customer): the store keys the publication by them, so a retried or
// re-run activity (after a crash, a timeout, or a failure after the code was taken) gets
// the same code back, and the payload built from it is the same. An empty pool is a final
// ApplicationError of type ErrTypePoolEmpty naming the campaign; a store error is returned
// as is, for Temporal to retry.
func (a *Activities) PublishCode(ctx context.Context, eventID, distributionID, customerID string, campaign json.RawMessage) (PublishedCode, error) {
	return a.publishCode(ctx, PublishCodeInput{EventID: eventID, DistributionID: distributionID, CustomerID: customerID, Campaign: campaign})
}

func (a *Activities) publishCode(ctx context.Context, in PublishCodeInput) (PublishedCode, error) {
	var c struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(in.Campaign, &c)
	campaignID := c.ID
	if in.EventID == "" || in.DistributionID == "" || in.CustomerID == "" || campaignID == "" {
		return PublishedCode{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("publish_code needs an event, a distribution, a customer and a campaign with an id; got event %q, distribution %q, customer %q, campaign %s",
				in.EventID, in.DistributionID, in.CustomerID, in.Campaign), ErrTypeBadPublication, nil)
	}
	key := store.PublicationKey{EventID: in.EventID, DistributionID: in.DistributionID, CustomerID: in.CustomerID}
	p, err := a.Store.PublishCode(ctx, key, campaignID, time.Now())
	if errors.Is(err, store.ErrPoolEmpty) {
		st, serr := a.Store.CodeStats(ctx, campaignID)
		switch {
		case serr != nil:
			// Whether codes are in flight elsewhere is not known: not a final answer.
			return PublishedCode{}, fmt.Errorf("campaign %s: no code was free, and the pool's counts cannot be read (%v): trying again", campaignID, serr)
		case st.Available > 0:
			// Every free code was held by another publication in flight (PostgreSQL skips
			// locked codes), and one of those gave its code back: try again.
			return PublishedCode{}, fmt.Errorf("campaign %s: no code was free, %d available now: trying again", campaignID, st.Available)
		}
		msg := fmt.Sprintf("the code pool of campaign %s is empty: all %d codes are published (import more with `hookflow codes import %s -f FILE`)", campaignID, st.Total, campaignID)
		if st.Total == 0 {
			msg = fmt.Sprintf("the code pool of campaign %s is empty: it has no codes (import some with `hookflow codes import %s -f FILE`)", campaignID, campaignID)
		}
		a.logger(ctx).Warn("code pool empty", "campaign", campaignID, "event", in.EventID, "distribution", in.DistributionID)
		return PublishedCode{}, temporal.NewNonRetryableApplicationError(msg, ErrTypePoolEmpty, nil)
	}
	if err != nil {
		return PublishedCode{}, fmt.Errorf("publish a code of campaign %s: %w", campaignID, err)
	}
	return publishedObjects(in, p)
}

// publishedObjects builds the payload's objects from a publication: only from what is
// stored, so every retry builds the same. When the distribution's campaign changed since the
// code was published (a delivery sent again), the objects name the campaign whose pool the
// code came from, by id only, rather than the new campaign's object with an old code.
func publishedObjects(in PublishCodeInput, p store.Publication) (PublishedCode, error) {
	var campaign struct {
		ID   string `json:"id"`
		Name any    `json:"name"`
	}
	_ = json.Unmarshal(in.Campaign, &campaign) // validation made it an object with an id
	name, _ := campaign.Name.(string)
	if campaign.ID != p.Campaign {
		in.Campaign, name = json.RawMessage(`{"id":`+strconv.Quote(p.Campaign)+`}`), ""
	}
	voucher, err := marshalPlain(publishedVoucher{Object: "voucher", Code: p.Code, Campaign: name, CampaignID: p.Campaign})
	if err != nil {
		return PublishedCode{}, err
	}
	pub := publicationObject{ID: p.ID, Object: "publication", CreatedAt: payloads.FormatTime(p.CreatedAt),
		CustomerID: p.CustomerID, Result: "SUCCESS"}
	pub.Voucher.Code = p.Code
	publication, err := marshalPlain(pub)
	if err != nil {
		return PublishedCode{}, err
	}
	out := PublishedCode{Campaign: in.Campaign, Voucher: voucher, Publication: publication}
	if len(out.Campaign) == 0 {
		out.Campaign = json.RawMessage(`null`)
	}
	return out, nil
}

// marshalPlain is json.Marshal without escaping <, > and &, which codes may hold.
func marshalPlain(v any) (json.RawMessage, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
