// A referral link (FRONTEND_URL/r/CODE, from GET /api/v1/referrals/me) opens registration with the code filled in.
import type {PageContext} from '../lib/app';

export default function render(ctx: PageContext): void {
  ctx.navigate(`/register?ref=${encodeURIComponent(ctx.params.code)}`, true);
}
