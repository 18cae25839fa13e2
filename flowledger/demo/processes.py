"""One function per process: how a case unfolds, event by event, with its business data.

Waits between steps are log-normal and land in working hours where people are involved;
every event after the first is emitted by a flow run (``Simulation.perform``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from flowledger.demo import world
from flowledger.demo.clock import MS_PER_DAY, MS_PER_H, cumulative, next_working_time
from flowledger.demo.simulation import Outcome, Simulation, lognormal, pick
from flowledger.demo.world import CART_TO_FULFILLMENT, QUOTE_TO_CASH, TICKET_ESCALATION

CONTRACT_AMENDED = 0.04  # contract signed a second time (rework)
INVOICE_WRONG = 0.04  # invoice posted with a wrong amount, corrected later (gray failure)
ORDER_CORRECTED = 0.025  # shipping address or amount corrected after the order went through
ORDER_CORRECTION_OF_AMOUNT = 0.3  # share of order corrections that fix the amount
REPICK = 0.025  # order picked a second time (rework)
LOST_HANDOFF = {QUOTE_TO_CASH: 0.01, CART_TO_FULFILLMENT: 0.012}  # case silently stuck
TICKET_ESCALATED = 0.75
TICKET_FOR_STUCK_ORDER = 0.5  # customers ask where their order is
TICKET_FOR_ORDER = 0.06

_REGION_CUM = cumulative(world.REGION_WEIGHTS)
_ORDER_CHANNEL_CUM = cumulative(world.ORDER_CHANNEL_WEIGHTS)
_QUOTE_CHANNEL_CUM = cumulative(world.QUOTE_CHANNEL_WEIGHTS)
_PRIORITY_CUM = cumulative(world.PRIORITY_WEIGHTS)


@dataclass(frozen=True)
class Customer:
    customer_id: str
    customer_email: str
    region: str
    currency: str
    shipping_address: str


def customer(sim: Simulation, number: int) -> Customer:
    """The customer's attributes follow from its number (and the seed): no table in memory."""
    h = sim.derived(number, 1)
    region = world.REGIONS[_bucket(h & 0xFFFF, _REGION_CUM)]
    first = world.FIRST_NAMES[(h >> 16) % len(world.FIRST_NAMES)]
    last = world.LAST_NAMES[(h >> 24) % len(world.LAST_NAMES)]
    currencies = world.CURRENCY[region]
    return Customer(
        f"CUST-{number:06d}",
        f"{first}.{last}.{number}@example.com",
        region,
        currencies[(h >> 32) % len(currencies)],
        address(region, h >> 40),
    )


def address(region: str, h: int) -> str:
    street, city, country = world.CITIES[region][h % len(world.CITIES[region])]
    return f"{1 + (h >> 8) % 180} {street}, {city}, {country}"


def _bucket(value16: int, cum: list[float]) -> int:
    share = value16 / 65536
    return next(i for i, edge in enumerate(cum) if share < edge)


class Case:
    """Tracks one case while its script runs, and books it into the truth at the end."""

    def __init__(self, sim: Simulation, process: str, case_id: str) -> None:
        self.sim = sim
        self.process = process
        self.case_id = case_id
        self.last_ms = 0
        self.types: Counter[str] = Counter()
        self.completed = False
        self.halted = False

    def start(self, event_type: str, at_ms: int, data: dict[str, object]) -> None:
        self.sim.emit_event(
            event_type, world.START_EVENT_SOURCES[event_type], at_ms, self.case_id, data
        )
        self.sim.truth.cases_started[self.process] += 1
        self._record(event_type, at_ms)

    def advance(self, outcome: Outcome, action: world.Action) -> bool:
        """True when the action succeeded; a failure for good halts the case."""
        if outcome.status == "halted":
            self.halted = True
        if outcome.status != "done":
            return False
        if action.event_type is not None:
            self._record(action.event_type, outcome.at_ms)
        return True

    def corrected(self, event_type: str, field: str, *, gray: bool) -> None:
        truth = self.sim.truth
        truth.corrections[event_type] += 1
        truth.corrected_fields[field] += 1
        truth.gray_failures += int(gray)

    def lose_handoff(self) -> None:
        self.halted = True
        self.sim.truth.lost_handoffs[self.process] += 1

    def finish(self) -> Case:
        truth = self.sim.truth
        if self.completed:
            truth.cases_completed[self.process] += 1
        else:
            truth.cases_incomplete[self.process] += 1
            stale_before = self.sim.window.end_ms - truth.stale_after_days * MS_PER_DAY
            if self.last_ms < stale_before:
                truth.cases_stale[self.process] += 1
        if self.halted:
            truth.cases_halted[self.process] += 1
        repeats = {t: n - 1 for t, n in self.types.items() if n > 1}
        if repeats:
            truth.rework_cases[self.process] += 1
            truth.repeated_events.update(repeats)
        return self

    def _record(self, event_type: str, at_ms: int) -> None:
        self.types[event_type] += 1
        self.last_ms = max(self.last_ms, at_ms)
        if event_type == world.END_EVENT[self.process]:
            self.completed = True


# ------------------------------------------------------------------------------- quote to cash


def quote_to_cash(sim: Simulation, number: int, start_ms: int, customer_number: int) -> Case:
    rng = sim.rng
    quote_id = f"Q-{number:07d}"
    invoice_id = f"INV-{number:07d}"
    buyer = customer(sim, customer_number)
    amount = round(lognormal(rng, 18_000, 0.9), 2)
    case = Case(sim, QUOTE_TO_CASH, quote_id)
    case.start(
        "com.acme.crm.quote.approved",
        start_ms,
        {
            "quote_id": quote_id,
            "customer_id": buyer.customer_id,
            "customer_email": buyer.customer_email,
            "region": buyer.region,
            "channel": pick(rng, world.CHANNELS, _QUOTE_CHANNEL_CUM),
            "amount": amount,
            "currency": buyer.currency,
        },
    )
    contract = {
        "quote_id": quote_id,
        "contract_id": f"CT-{number:07d}",
        "customer_id": buyer.customer_id,
        "signed_by": buyer.customer_email,
    }
    signed_at = next_working_time(start_ms + int(lognormal(rng, 30 * MS_PER_H, 0.9)), rng)
    done = sim.perform(world.SIGN_CONTRACT, quote_id, signed_at, contract)
    if not case.advance(done, world.SIGN_CONTRACT):
        return case.finish()
    if rng.random() < CONTRACT_AMENDED:
        amended_at = next_working_time(done.at_ms + int(lognormal(rng, 26 * MS_PER_H, 0.7)), rng)
        amendment = {**contract, "contract_id": f"CT-{number:07d}-A1", "amendment": True}
        done = sim.perform(world.SIGN_CONTRACT, quote_id, amended_at, amendment, seq=2)
        if not case.advance(done, world.SIGN_CONTRACT):
            return case.finish()
    wrong_amount = rng.random() < INVOICE_WRONG
    invoiced = round(amount * (1.19 if rng.random() < 0.5 else 0.9), 2) if wrong_amount else amount
    done = sim.perform(
        world.ISSUE_INVOICE,
        quote_id,
        done.at_ms + int(lognormal(rng, 3 * MS_PER_H, 0.8)),
        {
            "quote_id": quote_id,
            "invoice_id": invoice_id,
            "customer_id": buyer.customer_id,
            "amount": invoiced,
            "currency": buyer.currency,
            "payment_status": "unpaid",
        },
    )
    if not case.advance(done, world.ISSUE_INVOICE):
        return case.finish()
    if wrong_amount:
        corrected_at = next_working_time(done.at_ms + int(lognormal(rng, 20 * MS_PER_H, 0.8)), rng)
        correction = {
            "quote_id": quote_id,
            "invoice_id": invoice_id,
            "amount": amount,
            "currency": buyer.currency,
            "correction_reason": "amount did not match the signed quote",
        }
        done = sim.perform(world.CORRECT_INVOICE, quote_id, corrected_at, correction)
        if not case.advance(done, world.CORRECT_INVOICE):
            return case.finish()
        case.corrected("com.acme.erp.invoice.corrected", "amount", gray=True)
    if rng.random() < LOST_HANDOFF[QUOTE_TO_CASH]:
        case.lose_handoff()
        return case.finish()
    done = sim.perform(
        world.RECONCILE_PAYMENT,
        quote_id,
        done.at_ms + int(lognormal(rng, 5 * MS_PER_DAY, 0.6)),
        {
            "quote_id": quote_id,
            "invoice_id": invoice_id,
            "amount": amount,
            "currency": buyer.currency,
            "payment_status": "paid",
        },
    )
    case.advance(done, world.RECONCILE_PAYMENT)
    return case.finish()


# ------------------------------------------------------------------------ cart to fulfillment


def cart_to_fulfillment(sim: Simulation, number: int, start_ms: int, customer_number: int) -> Case:
    rng = sim.rng
    order_id = f"O-{number:08d}"
    buyer = customer(sim, customer_number)
    amount = round(lognormal(rng, 85, 0.8), 2)
    items = 1 + int(lognormal(rng, 1.2, 0.7))
    case = Case(sim, CART_TO_FULFILLMENT, order_id)
    case.start(
        "com.acme.shop.order.placed",
        start_ms,
        {
            "order_id": order_id,
            "customer_id": buyer.customer_id,
            "customer_email": buyer.customer_email,
            "region": buyer.region,
            "channel": pick(rng, world.CHANNELS, _ORDER_CHANNEL_CUM),
            "amount": amount,
            "currency": buyer.currency,
            "items": items,
            "shipping_address": buyer.shipping_address,
            "payment_status": "pending",
        },
    )
    _fulfil(sim, case, order_id, start_ms, buyer, amount, items)
    case.finish()
    _maybe_open_ticket(sim, case, buyer, order_id, start_ms)
    return case


def _fulfil(
    sim: Simulation,
    case: Case,
    order_id: str,
    start_ms: int,
    buyer: Customer,
    amount: float,
    items: int,
) -> None:
    rng = sim.rng
    done = sim.perform(world.TAKE_ORDER, order_id, start_ms + int(lognormal(rng, 800, 0.5)))
    if not case.advance(done, world.TAKE_ORDER):
        return
    done = sim.perform(
        world.CAPTURE_PAYMENT,
        order_id,
        done.at_ms + int(lognormal(rng, 3 * 60_000, 0.9)),
        {
            "order_id": order_id,
            "payment_id": f"pi_{sim.hex_id(96)}",
            "amount": amount,
            "currency": buyer.currency,
            "payment_status": "captured",
        },
    )
    if not case.advance(done, world.CAPTURE_PAYMENT):
        return
    captured_at = done.at_ms
    if rng.random() < ORDER_CORRECTED:
        _correct_order(sim, case, order_id, captured_at, buyer, amount)
    if rng.random() < LOST_HANDOFF[CART_TO_FULFILLMENT]:
        case.lose_handoff()
        return
    warehouse = world.WAREHOUSES[int(rng.random() * len(world.WAREHOUSES))]
    picked = {"order_id": order_id, "warehouse": warehouse, "items": items}
    pick_at = _warehouse_time(sim, captured_at + int(lognormal(rng, 2.5 * MS_PER_H, 0.9)))
    done = sim.perform(world.PICK_ORDER, order_id, pick_at, picked)
    if not case.advance(done, world.PICK_ORDER):
        return
    if rng.random() < REPICK:
        repick_at = _warehouse_time(sim, done.at_ms + int(lognormal(rng, 1.5 * MS_PER_H, 0.6)))
        repicked = {**picked, "repick_reason": "mispick found at packing"}
        done = sim.perform(world.PICK_ORDER, order_id, repick_at, repicked, seq=2)
        if not case.advance(done, world.PICK_ORDER):
            return
    carrier = world.CARRIERS[int(rng.random() * len(world.CARRIERS))]
    shipment = {
        "order_id": order_id,
        "carrier": carrier,
        "tracking_number": f"1Z{sim.hex_id(64).upper()}",
    }
    shipped = shipment
    plant = not sim.truth.ownership_violations
    if plant:  # one planted ownership violation: the WMS rewrites the shop-owned address
        shipped = {**shipment, "shipping_address": buyer.shipping_address.upper()}
    done = sim.perform(
        world.SHIP_ORDER, order_id, done.at_ms + int(lognormal(rng, 3 * MS_PER_H, 0.7)), shipped
    )
    if not case.advance(done, world.SHIP_ORDER):
        return
    if plant:
        sim.truth.ownership_violations.append(
            {"entity": "order", "record_key": order_id, "field_name": "shipping_address",
             "written_by": world.SHIP_ORDER.event_source or ""}
        )  # fmt: skip
    done = sim.perform(
        world.DELIVER_ORDER,
        order_id,
        done.at_ms + int(lognormal(rng, 40 * MS_PER_H, 0.5)),
        {**shipment, "delivery_status": "delivered"},
    )
    case.advance(done, world.DELIVER_ORDER)


def _correct_order(
    sim: Simulation, case: Case, order_id: str, after_ms: int, buyer: Customer, amount: float
) -> None:
    """A side branch: the correction's fate does not hold the order up."""
    rng = sim.rng
    if rng.random() < ORDER_CORRECTION_OF_AMOUNT:
        field, value, reason = "amount", round(amount * 0.9, 2), "promotion not applied"
    else:
        h = rng.getrandbits(48)
        moved = address(buyer.region, h)
        if moved == buyer.shipping_address:
            moved = address(buyer.region, h + 256)  # next house number
        field, value, reason = "shipping_address", moved, "customer changed address"
    data = {"order_id": order_id, field: value, "correction_reason": reason}
    at_ms = after_ms + int(lognormal(rng, 2 * MS_PER_H, 1.0))
    done = sim.perform(world.CORRECT_ORDER, order_id, at_ms, data)
    if done.status == "done":
        case.advance(done, world.CORRECT_ORDER)
        # an amount already captured by a successful payment run was wrong: gray failure
        case.corrected("com.acme.shop.order.corrected", field, gray=field == "amount")


def _warehouse_time(sim: Simulation, at_ms: int) -> int:
    return next_working_time(at_ms, sim.rng, open_h=6, close_h=22, workdays=6)


def _maybe_open_ticket(
    sim: Simulation, case: Case, buyer: Customer, order_id: str, start_ms: int
) -> None:
    rng = sim.rng
    if case.halted:
        if rng.random() >= TICKET_FOR_STUCK_ORDER:
            return
        opened = case.last_ms + int(lognormal(rng, 2 * MS_PER_DAY, 0.5))
        category = "where_is_my_order"
    else:
        if rng.random() >= TICKET_FOR_ORDER:
            return
        opened = start_ms + int(rng.random() * (case.last_ms - start_ms + 2 * MS_PER_DAY))
        category = world.TICKET_CATEGORIES_ORDER[int(rng.random() * 4)]
    if opened >= sim.window.end_ms:
        return
    sim.truth.tickets_with_order += 1
    ticket_escalation(
        sim, sim.next_case_number(TICKET_ESCALATION), opened, buyer, order_id, category
    )


# --------------------------------------------------------------------------- ticket escalation


def standalone_ticket(sim: Simulation, number: int, start_ms: int, customer_number: int) -> Case:
    category = world.TICKET_CATEGORIES_OTHER[int(sim.rng.random() * 4)]
    return ticket_escalation(sim, number, start_ms, customer(sim, customer_number), None, category)


def ticket_escalation(
    sim: Simulation,
    number: int,
    opened_ms: int,
    buyer: Customer,
    order_id: str | None,
    category: str,
) -> Case:
    rng = sim.rng
    ticket_id = f"T-{number:07d}"
    keys: dict[str, object] = {"ticket_id": ticket_id}
    if order_id is not None:
        keys["order_id"] = order_id
    case = Case(sim, TICKET_ESCALATION, ticket_id)
    case.start(
        "com.acme.desk.ticket.opened",
        opened_ms,
        {
            **keys,
            "customer_id": buyer.customer_id,
            "customer_email": buyer.customer_email,
            "region": buyer.region,
            "category": category,
            "priority": pick(rng, world.PRIORITIES, _PRIORITY_CUM),
        },
    )
    at_ms = opened_ms
    resolve_median = 5 * MS_PER_H
    if rng.random() < TICKET_ESCALATED:
        escalate_at = next_working_time(at_ms + int(lognormal(rng, 2 * MS_PER_H, 1.0)), rng, 7, 19)
        escalation = {**keys, "tier": "tier-2", "team": "fulfilment" if order_id else "platform"}
        done = sim.perform(world.ESCALATE_TICKET, ticket_id, escalate_at, escalation)
        if not case.advance(done, world.ESCALATE_TICKET):
            return case.finish()
        at_ms, resolve_median = done.at_ms, 18 * MS_PER_H
    resolve_at = next_working_time(at_ms + int(lognormal(rng, resolve_median, 0.9)), rng, 7, 19)
    resolution = {**keys, "resolution": "answered" if category == "how_to" else "fixed"}
    done = sim.perform(world.RESOLVE_TICKET, ticket_id, resolve_at, resolution)
    case.advance(done, world.RESOLVE_TICKET)
    return case.finish()


CASE_SCRIPTS = {
    QUOTE_TO_CASH: quote_to_cash,
    CART_TO_FULFILLMENT: cart_to_fulfillment,
    TICKET_ESCALATION: standalone_ticket,
}
