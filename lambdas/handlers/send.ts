/** Placeholder: implemented by the handlers work. */
export const handler = async (): Promise<{ statusCode: number }> => ({ statusCode: 501 });
