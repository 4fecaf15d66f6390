-- Search that finds what shoppers type: the porter stemmer makes "tents" find "Tent" and "boots"
-- find "Boot", and a `category` column (the category and its department) makes "knives" or
-- "footwear" find their products. The index keeps its own copy of the three short columns, so
-- triggers on both tables keep it in step. Self-contained: drops the index of 0001 and rebuilds
-- it from the current rows.
DROP TRIGGER IF EXISTS `products_fts_insert`;
--> statement-breakpoint
DROP TRIGGER IF EXISTS `products_fts_delete`;
--> statement-breakpoint
DROP TRIGGER IF EXISTS `products_fts_update`;
--> statement-breakpoint
DROP TABLE IF EXISTS `products_fts`;
--> statement-breakpoint
CREATE VIRTUAL TABLE `products_fts` USING fts5(
	`name`, `brand`, `category`,
	tokenize='porter unicode61 remove_diacritics 2', prefix='2 3'
);
--> statement-breakpoint
INSERT INTO `products_fts`(rowid, `name`, `brand`, `category`)
	SELECT p.`id`, p.`name`, p.`brand`, c.`name` || ' ' || coalesce(d.`name`, '')
	FROM `products` p
	JOIN `categories` c ON c.`id` = p.`category_id`
	LEFT JOIN `categories` d ON d.`id` = c.`parent_id`;
--> statement-breakpoint
CREATE TRIGGER `products_fts_insert` AFTER INSERT ON `products` BEGIN
	INSERT INTO `products_fts`(rowid, `name`, `brand`, `category`) VALUES (
		new.`id`, new.`name`, new.`brand`,
		(SELECT c.`name` || ' ' || coalesce(d.`name`, '') FROM `categories` c
			LEFT JOIN `categories` d ON d.`id` = c.`parent_id` WHERE c.`id` = new.`category_id`)
	);
END;
--> statement-breakpoint
CREATE TRIGGER `products_fts_delete` AFTER DELETE ON `products` BEGIN
	DELETE FROM `products_fts` WHERE rowid = old.`id`;
END;
--> statement-breakpoint
CREATE TRIGGER `products_fts_update` AFTER UPDATE OF `name`, `brand`, `category_id` ON `products` BEGIN
	UPDATE `products_fts` SET `name` = new.`name`, `brand` = new.`brand`, `category` = (
		SELECT c.`name` || ' ' || coalesce(d.`name`, '') FROM `categories` c
			LEFT JOIN `categories` d ON d.`id` = c.`parent_id` WHERE c.`id` = new.`category_id`
	) WHERE rowid = new.`id`;
END;
--> statement-breakpoint
CREATE TRIGGER `categories_fts_update` AFTER UPDATE OF `name`, `parent_id` ON `categories` BEGIN
	UPDATE `products_fts` SET `category` = (
		SELECT c.`name` || ' ' || coalesce(d.`name`, '') FROM `products` p
			JOIN `categories` c ON c.`id` = p.`category_id`
			LEFT JOIN `categories` d ON d.`id` = c.`parent_id`
			WHERE p.`id` = `products_fts`.rowid
	) WHERE rowid IN (
		SELECT p.`id` FROM `products` p JOIN `categories` c ON c.`id` = p.`category_id`
		WHERE c.`id` = new.`id` OR c.`parent_id` = new.`id`
	);
END;
