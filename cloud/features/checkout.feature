Feature: Checkout reserves an order's stock, all or nothing
  A shopper places an order at a site; checkout holds every line against what the shelves
  weigh, then confirms the order, or releases what it held and rejects the order with the reason.
  Available stock is what is on hand less what is held. What follows confirmation (picking by
  weight, cancelling) is in picking.feature.

  Background:
    Given a site whose warehouse has no orders yet
    And the site's shelves hold 10 "BOLT" and 2 "NUT"

  Scenario: An order is reserved and confirmed, and what it holds is no longer available
    When shopper "ann" orders 4 "BOLT"
    Then the order is placed, reserved and confirmed, in that order
    And "BOLT" has 10 on hand, 4 reserved and 6 available
    And the confirmed order still holds 4 "BOLT" after every hold time has passed

  Scenario: An order for more than is on the shelves is rejected and holds nothing
    When shopper "ann" orders 4 "BOLT" and 3 "NUT"
    Then the order is rejected as "insufficient_stock"
    And nothing is reserved
    And "BOLT" has 10 on hand, 0 reserved and 10 available

  Scenario: An order for an unknown SKU is refused before anything is written
    When shopper "ann" orders 1 "NOPE"
    Then the order is refused with "unknown SKU: NOPE"
    And nothing is reserved
    And no order event is stored

  Scenario: Two shoppers race for the last item and exactly one wins
    Given the site's shelves also hold 1 "LAST"
    When shoppers "ann" and "bob" each order 1 "LAST" at the same moment
    Then one order is confirmed and the other is rejected as "insufficient_stock"
    And "LAST" has 1 on hand, 1 reserved and 0 available
