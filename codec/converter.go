package codec

import (
	"bytes"
	"encoding/json"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

// DataConverter is the SDK's default converter with one change: JSON is written without
// HTML escaping. The default escapes '<', '>' and '&' even inside json.RawMessage, which
// would change the bytes of the user's objects on their way through history and so the
// body a receiver gets. What it writes is plain JSON that any converter reads.
//
// It does not encrypt: processes with an encryption key use NewDataConverter or
// DataConverterFor (codec.go), which wrap the same converter.
var DataConverter = converter.MakeTransferAware(payloadConverter)

// payloadConverter is DataConverter without the transfer-type wrapper, for codecs to wrap.
var payloadConverter = converter.NewCompositeDataConverter(
	converter.NewNilPayloadConverter(),
	converter.NewByteSlicePayloadConverter(),
	converter.NewProtoJSONPayloadConverter(),
	converter.NewProtoPayloadConverter(),
	&exactJSONPayloadConverter{},
)

type exactJSONPayloadConverter struct {
	converter.JSONPayloadConverter
}

func (*exactJSONPayloadConverter) ToPayload(value any) (*commonpb.Payload, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(value); err != nil {
		return nil, fmt.Errorf("%w: %v", converter.ErrUnableToEncode, err)
	}
	return &commonpb.Payload{
		Metadata: map[string][]byte{converter.MetadataEncoding: []byte(converter.MetadataEncodingJSON)},
		Data:     bytes.TrimSuffix(buf.Bytes(), []byte("\n")),
	}, nil
}
