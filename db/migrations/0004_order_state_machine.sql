-- The order state machine, enforced by the database itself so that no interleaving of writers on
-- any number of edge nodes can apply a transition twice or skip one (routes read the status
-- first only to explain a refusal). Keep in step with ORDER_TRANSITIONS in db/orders.ts; the
-- test "[orders] the database refuses exactly the transitions the state machine refuses" checks.
CREATE TRIGGER `orders_status_transition` BEFORE UPDATE OF `status` ON `orders`
WHEN NOT (
	(old.`status` = 'pending' AND new.`status` IN ('paid', 'cancelled'))
	OR (old.`status` = 'pending' AND new.`status` = 'shipped' AND old.`payment_method` = 'pay_on_delivery')
	OR (old.`status` = 'paid' AND new.`status` IN ('shipped', 'cancelled'))
	OR (old.`status` = 'shipped' AND new.`status` = 'delivered')
)
BEGIN
	SELECT RAISE(ABORT, 'order_transition_refused');
END;
