CREATE TABLE "build_exports" (
	"build_id" text PRIMARY KEY NOT NULL,
	"input" jsonb NOT NULL,
	"versions" jsonb NOT NULL,
	"version_id" text,
	"exported_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "review_decisions" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"build_id" text NOT NULL,
	"record_id" text NOT NULL,
	"decision" text NOT NULL,
	"reviewer" text NOT NULL,
	"reason" text,
	"before_question" text,
	"before_answer" text,
	"after_question" text,
	"after_answer" text,
	"diff" jsonb,
	"decided_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "builds" ADD COLUMN "budget_usd" double precision;--> statement-breakpoint
ALTER TABLE "builds" ADD COLUMN "spent_usd" double precision DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "images" ADD COLUMN "video_id" text;--> statement-breakpoint
ALTER TABLE "images" ADD COLUMN "native_name" text;--> statement-breakpoint
ALTER TABLE "images" ADD COLUMN "metadata" jsonb;--> statement-breakpoint
ALTER TABLE "images" ADD COLUMN "face_box" jsonb;--> statement-breakpoint
ALTER TABLE "images" ADD COLUMN "phash" text;--> statement-breakpoint
ALTER TABLE "images" ADD COLUMN "duplicate_of" text;--> statement-breakpoint
ALTER TABLE "model_calls" ADD COLUMN "stage" text;--> statement-breakpoint
ALTER TABLE "model_calls" ADD COLUMN "cost_usd" double precision;--> statement-breakpoint
ALTER TABLE "model_calls" ADD COLUMN "latency_ms" integer;--> statement-breakpoint
CREATE UNIQUE INDEX "review_decisions_record" ON "review_decisions" USING btree ("record_id");--> statement-breakpoint
CREATE INDEX "review_decisions_build" ON "review_decisions" USING btree ("build_id");