import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../../errors/index.js';
import { createUser, createUsersRepository, ROLES, updateUser } from '../../users/index.js';
import { audit } from '../audit.js';
import { errorResponses, idParams } from '../schemas.js';
import { userSchema, usuarioField } from '../staff-views.js';
import type { ApiDeps } from '../types.js';

const rolField = z.enum(ROLES, 'debe ser "admin", "operador" o "lectura"');

export const usuariosRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const tags = ['usuarios'];
  const users = createUsersRepository(deps.db);

  app.get(
    '/api/usuarios',
    {
      schema: {
        tags,
        summary: 'Listar usuarios del personal (solo administradores)',
        response: { 200: z.object({ usuarios: z.array(userSchema) }), ...errorResponses },
      },
    },
    async () => ({ usuarios: await users.list() }),
  );

  app.post(
    '/api/usuarios',
    {
      schema: {
        tags,
        summary: 'Crear usuario (solo administradores o ADMIN_TOKEN)',
        description: `Clave: al menos 10 caracteres, que no sea de las más usadas ni contenga el usuario.`,
        body: z.strictObject({
          usuario: usuarioField,
          nombre: z.string().trim().min(1, 'escriba el nombre').max(100),
          rol: rolField,
          clave: z.string().max(200),
        }),
        response: { 201: userSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const user = await createUser(deps.db, { ...request.body, now: deps.clock.now() });
      await audit(deps.db, {
        actor: request.actor,
        accion: 'usuario.crear',
        objeto: `usuario:${user.id}`,
        detalles: { usuario: user.usuario, nombre: user.nombre, rol: user.rol },
      });
      return reply.status(201).send(user);
    },
  );

  app.patch(
    '/api/usuarios/:id',
    {
      schema: {
        tags,
        summary: 'Cambiar nombre, rol, activo o clave de un usuario (solo administradores)',
        description:
          'Desactivar a un usuario o cambiar su clave cierra sus sesiones; sus tokens dejan de servir mientras esté inactivo.',
        params: idParams,
        body: z
          .strictObject({
            nombre: z.string().trim().min(1, 'escriba el nombre').max(100).optional(),
            rol: rolField.optional(),
            activo: z.boolean().optional(),
            clave: z.string().max(200).optional(),
          })
          .refine((b) => Object.keys(b).length > 0, 'indique al menos un campo: nombre, rol, activo o clave'),
        response: { 200: userSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { id } = request.params;
      if (!(await users.get(id))) throw new AppError('NO_ENCONTRADO', `El usuario ${id} no existe.`);
      const user = await updateUser(deps.db, id, { ...request.body, now: deps.clock.now() });
      const { clave, ...rest } = request.body;
      await audit(deps.db, {
        actor: request.actor,
        accion: 'usuario.editar',
        objeto: `usuario:${id}`,
        // Never the password: only that it changed.
        detalles: {
          usuario: user.usuario,
          ...rest,
          ...(clave === undefined ? {} : { clave_cambiada: true }),
        },
      });
      return user;
    },
  );
};
