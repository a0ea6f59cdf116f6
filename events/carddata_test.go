package events

import (
	"errors"
	"strings"
	"testing"
)

func TestPaymentEventsWithCardDataAreRefusedWithoutEchoingIt(t *testing.T) {
	for name, data := range map[string]string{
		"card.number": `{"customerId":"c","stripe":{"customerId":"cus","paymentMethodId":"pm"},"card":{"brand":"visa","last4":"4242","expMonth":1,"expYear":2030,"number":"4111111111111111"}}`,
		"card_number": `{"customerId":"c","zuoraPaymentMethodId":"pm","card_number":"4111111111111111"}`,
		"cvc in list": `{"customerId":"c","zuoraPaymentMethodId":"pm","extra":[{"CVC":"123"}]}`,
	} {
		_, err := DecodeData(mustEvent(t, TypeStiggPaymentMethodAttached, data))
		var ce *CardDataError
		if !errors.As(err, &ce) || strings.Contains(err.Error(), "4111") || strings.Contains(err.Error(), "123\"") {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Ordinary fields that merely contain the words stay valid.
	if _, err := DecodeData(mustEvent(t, TypeStiggPaymentRequested,
		`{"customerId":"c","invoiceNumber":"INV-1","amount":"10","currency":"USD","kind":"EXTERNAL","reference":"number 5"}`)); err != nil {
		t.Fatalf("a payment without card data: %v", err)
	}
	// Other event types are not scanned for it (a package may well have a "number" member).
	if _, err := DecodeData(mustEvent(t, TypeStiggCustomerCreated, `{"customerId":"c","metadata":{"number":"7"}}`)); err != nil {
		t.Fatalf("customer: %v", err)
	}
}
