package payloads

import (
	"net/http"
	"testing"
	"time"
)

// benchTemplate is a typical payload-designer template: a few text and typed placeholders.
const benchTemplate = `{"greeting": "Hello {{customer.name}}", "order": "{{order.id}}", "total": {{order.amount}},
 "currency": "{{order.currency}}", "channel": "{{order.metadata.channel}}", "customer": {{customer}}, "static": 1}`

// BenchmarkRenderAndSign measures one delivery's body and signature headers for a typical
// order event: render, then SignHeaders with one secret.
func BenchmarkRenderAndSign(b *testing.B) {
	ev := SampleEvent("customer.order.paid")
	secrets := []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
	base := Target{
		ProjectID: "proj_bench", SourceID: "distr_bench", SourceObject: "distribution",
		URL: "https://example.com/webhooks/hookflow", EventName: "Order-paid", Version: Version2024,
	}
	withTemplate := base
	withTemplate.Template = benchTemplate
	legacy := base
	legacy.Version = Version2018
	deliveryID := DeliveryID(ev.ID, base.SourceID)
	created := time.Date(2026, 1, 5, 10, 0, 1, 0, time.UTC)
	for _, bc := range []struct {
		name   string
		target Target
	}{{"v2024", base}, {"v2024-template", withTemplate}, {"v2018", legacy}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				body, err := Render(ev, bc.target, deliveryID, created)
				if err != nil {
					b.Fatal(err)
				}
				if err := SignHeaders(make(http.Header, 4), secrets, deliveryID, created, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTemplateRender measures rendering a compiled template, and compiling it too.
func BenchmarkTemplateRender(b *testing.B) {
	ev := SampleEvent("customer.order.paid")
	tmpl, err := CompileTemplate(benchTemplate)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("render", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := tmpl.Render(ev, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("compile+render", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			tmpl, err := CompileTemplate(benchTemplate)
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := tmpl.Render(ev, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}
