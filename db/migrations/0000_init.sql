CREATE TABLE "builds" (
	"id" text PRIMARY KEY NOT NULL,
	"config" jsonb NOT NULL,
	"stage" text DEFAULT 'started' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "images" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"build_id" text NOT NULL,
	"source" text NOT NULL,
	"adapter" text NOT NULL,
	"rel_path" text NOT NULL,
	"abs_path" text NOT NULL,
	"content_hash" text,
	"native_label" text NOT NULL,
	"class_name" text,
	"subject" text,
	"licence" text,
	"width" integer,
	"height" integer,
	"spoof_box" jsonb,
	"split" text,
	"status" text NOT NULL,
	"reason" text,
	"detail" text
);
--> statement-breakpoint
CREATE TABLE "model_cache" (
	"key" text PRIMARY KEY NOT NULL,
	"model" text NOT NULL,
	"served_model" text,
	"content" text NOT NULL,
	"prompt_tokens" integer DEFAULT 0 NOT NULL,
	"completion_tokens" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "model_calls" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"build_id" text NOT NULL,
	"cache_key" text NOT NULL,
	"role" text NOT NULL,
	"model" text NOT NULL,
	"cache_hit" boolean NOT NULL,
	"prompt_tokens" integer DEFAULT 0 NOT NULL,
	"completion_tokens" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "records" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"id" text NOT NULL,
	"build_id" text NOT NULL,
	"image_seq" integer NOT NULL,
	"set" text NOT NULL,
	"task" text NOT NULL,
	"origin" text NOT NULL,
	"parent_id" text,
	"question" text,
	"answer" text,
	"box" jsonb,
	"model" text,
	"prompt_version" text,
	"clip_score" double precision,
	"status" text NOT NULL,
	"stage" text NOT NULL,
	"reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "verdicts" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"build_id" text NOT NULL,
	"record_id" text NOT NULL,
	"stage" text NOT NULL,
	"verdict" text NOT NULL,
	"reason" text,
	"detail" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "images_build_path" ON "images" USING btree ("build_id","source","rel_path");--> statement-breakpoint
CREATE INDEX "images_build_status" ON "images" USING btree ("build_id","status");--> statement-breakpoint
CREATE UNIQUE INDEX "model_calls_build_key" ON "model_calls" USING btree ("build_id","cache_key");--> statement-breakpoint
CREATE UNIQUE INDEX "records_id" ON "records" USING btree ("id");--> statement-breakpoint
CREATE INDEX "records_build_set_status" ON "records" USING btree ("build_id","set","status");--> statement-breakpoint
CREATE UNIQUE INDEX "verdicts_record_stage" ON "verdicts" USING btree ("record_id","stage");--> statement-breakpoint
CREATE INDEX "verdicts_build" ON "verdicts" USING btree ("build_id","stage");