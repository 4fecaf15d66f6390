-- Full-text index over product names and brands for search; an external-content table kept in
-- step with `products` by triggers, so searchProducts never scans the catalog.
CREATE VIRTUAL TABLE `products_fts` USING fts5(
	`name`, `brand`,
	content='products', content_rowid='id',
	tokenize='unicode61 remove_diacritics 2', prefix='2 3'
);
--> statement-breakpoint
CREATE TRIGGER `products_fts_insert` AFTER INSERT ON `products` BEGIN
	INSERT INTO `products_fts`(rowid, `name`, `brand`) VALUES (new.`id`, new.`name`, new.`brand`);
END;
--> statement-breakpoint
CREATE TRIGGER `products_fts_delete` AFTER DELETE ON `products` BEGIN
	INSERT INTO `products_fts`(`products_fts`, rowid, `name`, `brand`) VALUES ('delete', old.`id`, old.`name`, old.`brand`);
END;
--> statement-breakpoint
CREATE TRIGGER `products_fts_update` AFTER UPDATE OF `name`, `brand` ON `products` BEGIN
	INSERT INTO `products_fts`(`products_fts`, rowid, `name`, `brand`) VALUES ('delete', old.`id`, old.`name`, old.`brand`);
	INSERT INTO `products_fts`(rowid, `name`, `brand`) VALUES (new.`id`, new.`name`, new.`brand`);
END;
