Feature: A confirmed order is picked by the weight leaving the shelf, or cancelled
  Checkout (checkout.feature) ends at confirmed. Here the whole cloud runs: a confirmed order
  becomes a pick list whose bins light up, the shelf's weight dropping by the ordered units
  confirms the line and makes the order picked, and the stock is lower with nothing held. A
  cancelled order stops its pick list and gives back what it held.

  Background:
    Given a running cloud with a shelf holding 10 "BOLT" of 50 g and 5 "NUT" of 20 g

  Scenario: A confirmed order is picked by weight and the stock goes down
    When shopper "ann" orders 4 "BOLT"
    Then the order is confirmed and its pick list lights the "BOLT" bin
    When the shelf weighs 4 "BOLT" fewer
    Then the order is picked
    And "BOLT" has 6 on hand, 0 reserved and 6 available

  Scenario: A confirmed order that staff cancel before it is picked gives its stock back
    When shopper "ann" orders 3 "NUT"
    Then the order is confirmed and its pick list lights the "NUT" bin
    When staff cancel the order
    Then the order is cancelled and its pick list is cancelled
    And "NUT" has 5 on hand, 0 reserved and 5 available
