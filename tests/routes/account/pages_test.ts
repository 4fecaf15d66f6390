import assert from "node:assert/strict";
import { openTestServices } from "../../fixtures.ts";

const ORIGIN = "http://localhost";

Deno.test("[account pages] a multipart form without a usable boundary is a 400 with the form, never a 500", async (t) => {
  const shop = await openTestServices({ productCount: 0 });
  try {
    const contentTypes = {
      "no boundary": "multipart/form-data",
      "an empty boundary": "multipart/form-data; boundary=",
      "a 5,000-character boundary": `multipart/form-data; boundary=${"b".repeat(5000)}`,
      "a boundary the body does not use": "multipart/form-data; boundary=xyz",
    };
    for (const mode of ["login", "register"]) {
      for (const [name, contentType] of Object.entries(contentTypes)) {
        await t.step(`/account/${mode} with ${name}`, async () => {
          const response = await shop.app.request(`${ORIGIN}/account/${mode}`, {
            method: "POST",
            headers: { "content-type": contentType, origin: ORIGIN },
            body: "email=a%40example.com&password=long-enough",
          });
          const page = await response.text();
          assert.equal(response.status, 400);
          assert.match(response.headers.get("content-type") ?? "", /text\/html/);
          assert.match(page, /<form method="post" action="\/account\//, "the form is shown again");
          assert.match(page, /couldn(&#39;|')t read that form/);
        });
      }
    }
  } finally {
    await shop.close();
  }
});
