import type { FastifyReply, FastifyRequest } from 'fastify'
import { errorReply } from '../http-error.ts'

/** The `:name` parameter of a manager route. */
export function nameOf(request: FastifyRequest): string {
  return (request.params as { name: string }).name
}

/** 404 `GW_ERR_MANAGER_NOT_FOUND`: no bundle of that name is installed. */
export function notInstalled(reply: FastifyReply, name: string): FastifyReply {
  const r = errorReply('GW_ERR_MANAGER_NOT_FOUND', [name.slice(0, 128)])
  return reply.code(r.status).send(r.body)
}
